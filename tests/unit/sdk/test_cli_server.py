"""The server-side CLI's pure helpers: references, example calls, the stage table, and how
`modelbay up` finds the platform (an entry point, never an import of a service)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from modelbay import cli_up
from modelbay.cli import build_app
from modelbay.cli_server import _stage_table, example_value
from modelbay.client import ModelRef
from modelbay.errors import ApiError
from rich.console import Console
from typer.testing import CliRunner


def test_model_references() -> None:
    assert ModelRef.parse("alice/iris") == ModelRef("alice", "iris", None)
    assert ModelRef.parse("alice/iris:3") == ModelRef("alice", "iris", 3)
    assert str(ModelRef("alice", "iris", 3)) == "alice/iris:3"
    for bad in ("iris", "alice/iris:x", "a/b/c"):
        with pytest.raises(ApiError):
            ModelRef.parse(bad)
    with pytest.raises(ApiError, match="VERSION"):
        ModelRef.parse("alice/iris", version_required=True)


def test_example_values_follow_field_types() -> None:
    assert example_value("list[float]") == [1.0]
    assert example_value("int64") == 1
    assert example_value("list[list[str]]") == [["text"]]
    assert example_value("IrisIn") == "..."


def _render(detail: dict[str, object]) -> str:
    console = Console(width=100, record=True, color_system=None)
    console.print(_stage_table(detail))
    return console.export_text()


def test_stage_table_marks_running_done_and_failed_stages() -> None:
    base = {"owner": "alice", "name": "iris", "version": 1}
    building = _render(
        {**base, "status": "building", "timings": {"resolved_at": "t", "resolve_seconds": 2.5}}
    )
    assert "2.5s" in building
    assert "running" in building
    failed = _render({**base, "status": "failed", "timings": {"resolved_at": None}})
    resolve_line = next(line for line in failed.splitlines() if "resolve" in line)
    assert "failed" in resolve_line
    ready = _render(
        {
            **base,
            "status": "ready",
            "timings": {
                "resolved_at": "t",
                "build_seconds": 3.0,
                "validation_seconds": 1.0,
                "total_seconds": 9.0,
            },
        }
    )
    assert "4.0s" in ready
    assert "9.0s" in ready


def test_server_commands_are_registered() -> None:
    names = {command.name for command in build_app().registered_commands}
    assert {"status", "search", "pull", "run", "publish", "up", "push"} <= names


class _VersionOnly:
    """Answers `version()` like the gateway; the only call `_ready_version` makes."""

    def __init__(self, detail: dict[str, object]) -> None:
        self.detail = detail

    def version(self, owner: str, name: str, version: int) -> dict[str, object]:
        return self.detail


def test_pull_refuses_a_model_served_as_a_local_process_and_says_where_it_runs() -> None:
    from modelbay.cli_server import _ready_version

    ref = ModelRef("alice", "iris", 1)
    registry = _VersionOnly({"status": "ready", "image_ref": "127.0.0.1:5000/alice/iris:1"})
    local = _VersionOnly(
        {
            "status": "ready",
            "image_ref": "local-process://127.0.0.1:41234/alice/iris/1",
            "serve_url": "http://127.0.0.1:41234",
        }
    )

    assert _ready_version(registry, ref) == registry.detail  # type: ignore[arg-type]
    with pytest.raises(ApiError, match="no image to pull") as refused:
        _ready_version(local, ref)  # type: ignore[arg-type]
    assert "http://127.0.0.1:41234" in refused.value.detail


def test_up_finds_the_platform_through_its_entry_point_and_passes_the_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[dict[str, Any]] = []

    def fake_platform(**options: Any) -> None:
        calls.append(options)
        options["announce"]("platform says hello")

    class FakeEntryPoint:
        def load(self) -> object:
            return fake_platform

    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        return [FakeEntryPoint()] if group == cli_up.PLATFORM_ENTRY_POINTS else []

    monkeypatch.setattr(cli_up, "entry_points", entry_points)
    result = CliRunner().invoke(
        build_app(), ["up", "--data-dir", str(tmp_path), "--port", "8123", "--no-docker"]
    )
    assert result.exit_code == 0, result.output
    assert "platform says hello" in result.output
    assert [{k: v for k, v in call.items() if k != "announce"} for call in calls] == [
        {"data_dir": tmp_path, "host": "127.0.0.1", "port": 8123, "docker": False}
    ]


def test_up_without_the_platform_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli_up, "entry_points", lambda *, group: [])
    result = CliRunner().invoke(build_app(), ["up"])
    assert result.exit_code == 1
    assert "pip install modelbay-embedded" in result.output


def test_the_installed_embedded_package_declares_the_platform_entry_point() -> None:
    from importlib.metadata import entry_points

    found = entry_points(group=cli_up.PLATFORM_ENTRY_POINTS)
    assert [entry.value for entry in found] == ["modelbay_embedded.cli:run_platform"]
