""" "Try it" sandboxes (modelbay_builder/try_sandbox.py) with the engine faked: one sandbox per
image, reused; at most `max_running`, the least recently used removed first; idle ones reaped;
a sandbox that cannot take a call is dropped; the refusals name their reason. The real container
path runs in tests/e2e/web/test_web_ui_marketplace.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from modelbay_builder import try_sandbox
from modelbay_builder.compare import Tolerance
from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.errors import TryNotPossible
from modelbay_builder.try_sandbox import MAX_TRY_BODY_BYTES, TrySandboxes
from modelbay_builder.validation import ValidationLimits

LIMITS = ValidationLimits("1g", 1.0, 10.0, 5.0, Tolerance(1e-6, 1e-9))


@dataclass
class FakeContainer:
    image: str
    answer: tuple[int, str] = (0, json.dumps({"status": 200, "body": '{"y": [1]}'}))
    calls: list[list[str]] = field(default_factory=list)


class FakeExporter:
    def prepare(self, image_ref: str) -> None: ...

    def export(self, image_ref: str) -> Any:
        return iter(())


class FakeSandboxes(TrySandboxes):
    def __init__(self, **options: Any) -> None:
        super().__init__(DockerConnection(None, 1), FakeExporter(), LIMITS, **options)
        self.started: list[str] = []

    def _start_sandbox(self, image_ref: str) -> Any:
        self.started.append(image_ref)
        return FakeContainer(image_ref)


@pytest.fixture
def removed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    gone: list[str] = []
    monkeypatch.setattr(try_sandbox, "_remove", lambda container: gone.append(container.image))

    def fake_exec(container: FakeContainer, command: list[str]) -> tuple[int, str]:
        container.calls.append(command)
        return container.answer

    monkeypatch.setattr(try_sandbox, "_exec", fake_exec)
    return gone


async def test_one_sandbox_per_image_is_reused(removed: list[str]) -> None:
    boxes = FakeSandboxes()
    first = await boxes.call("reg/a:1", "classify", b'{"x": [1]}')
    again = await boxes.call("reg/a:1", "classify", b'{"x": [2]}')
    assert (first.status, first.body) == (200, {"y": [1]})
    assert again.status == 200
    assert boxes.started == ["reg/a:1"]
    assert removed == []


async def test_the_least_recently_used_sandbox_makes_room(removed: list[str]) -> None:
    boxes = FakeSandboxes(max_running=2)
    for image in ("reg/a:1", "reg/b:1", "reg/a:1", "reg/c:1"):
        await boxes.call(image, "m", b"{}")
    assert boxes.started == ["reg/a:1", "reg/b:1", "reg/c:1"]
    assert removed == ["reg/b:1"]  # a was used after b
    await boxes.stop()
    assert sorted(removed) == ["reg/a:1", "reg/b:1", "reg/c:1"]


async def test_idle_sandboxes_are_reaped(removed: list[str]) -> None:
    boxes = FakeSandboxes(idle_seconds=0.0)
    await boxes.call("reg/a:1", "m", b"{}")
    assert await boxes.reap_idle() == ["reg/a:1"]
    assert removed == ["reg/a:1"]
    await boxes.call("reg/a:1", "m", b"{}")
    assert boxes.started == ["reg/a:1", "reg/a:1"]  # started again on the next try


async def test_a_sandbox_that_cannot_take_a_call_is_dropped(
    removed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(try_sandbox, "_exec", lambda container, command: (1, "exec failed"))
    boxes = FakeSandboxes()
    with pytest.raises(TryNotPossible, match="did not reach the model server: exec failed"):
        await boxes.call("reg/a:1", "m", b"{}")
    assert removed == ["reg/a:1"]


async def test_refusals_name_their_reason(removed: list[str]) -> None:
    with pytest.raises(TryNotPossible, match="over 65536 bytes"):
        await FakeSandboxes().call("reg/a:1", "m", b" " * (MAX_TRY_BODY_BYTES + 1))
    no_engine = TrySandboxes(None, FakeExporter(), LIMITS)
    with pytest.raises(TryNotPossible, match="runs no Docker engine"):
        await no_engine.call("reg/a:1", "m", b"{}")


async def test_the_models_refusal_is_an_answer_not_an_error(removed: list[str]) -> None:
    boxes = FakeSandboxes()
    problem = {"title": "Invalid input", "status": 422, "field": "x"}
    container = await boxes._sandbox_for("reg/a:1")
    container.container.answer = (0, json.dumps({"status": 422, "body": json.dumps(problem)}))
    answer = await boxes.call("reg/a:1", "m", b'{"x": "?"}')
    assert (answer.status, answer.body) == (422, problem)
    method, payload = container.container.calls[-1][3:5]
    assert method == "m"
    assert payload == "eyJ4IjogIj8ifQ=="  # base64 of the body: any bytes survive the argv
