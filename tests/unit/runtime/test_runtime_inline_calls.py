"""A model call measured cheaper than a thread hand-off runs on the event loop (issue 14,
`invoke.ModelRunner`); a costly one, or any call while a model thread is busy, runs in the
model thread, so one model thread still means the model is never called concurrently."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from modelbay_runtime.server.invoke import INLINE_BELOW_S, ModelRunner


@dataclass
class TimedMethod:
    """Stands in for a loaded method: sleeps `seconds` and records the thread of each call."""

    name: str
    seconds: float
    threads: list[str] = field(default_factory=list)
    gate: threading.Event | None = None
    entered: threading.Event = field(default_factory=threading.Event)

    def call(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.threads.append(threading.current_thread().name)
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(timeout=30)
        if self.seconds:
            time.sleep(self.seconds)
        return {"echo": payload["x"]}


async def test_a_cheap_method_runs_on_the_loop_once_measured() -> None:
    runner = ModelRunner(1)
    cheap = TimedMethod("cheap", 0.0)
    for x in range(3):
        assert await runner.call(cheap, {"x": x}) == {"echo": x}  # type: ignore[arg-type]
    await runner.close()
    loop_thread = threading.current_thread().name
    assert cheap.threads[0].startswith("model")  # not measured yet: a model thread
    assert cheap.threads[1:] == [loop_thread, loop_thread]


async def test_a_costly_method_stays_in_the_model_thread() -> None:
    runner = ModelRunner(1)
    costly = TimedMethod("costly", INLINE_BELOW_S * 20)
    for x in range(3):
        await runner.call(costly, {"x": x})  # type: ignore[arg-type]
    await runner.close()
    assert all(name.startswith("model") for name in costly.threads)


async def test_no_call_on_the_loop_while_the_model_thread_is_busy() -> None:
    runner = ModelRunner(1)
    cheap = TimedMethod("cheap", 0.0)
    await runner.call(cheap, {"x": 0})  # type: ignore[arg-type]
    await runner.call(cheap, {"x": 1})  # type: ignore[arg-type]
    assert await runner.call_raw(cheap, {"x": 2}) == {"echo": 2}  # type: ignore[arg-type]
    assert cheap.threads[-1] == threading.current_thread().name  # measured cheap: on the loop
    slow = TimedMethod("slow", 0.0, gate=threading.Event())
    held = asyncio.create_task(runner.call(slow, {"x": 3}))  # type: ignore[arg-type]
    assert await asyncio.to_thread(slow.entered.wait, 30)  # the model thread is in it now
    second = asyncio.create_task(runner.call(cheap, {"x": 4}))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert not second.done()  # queued behind the busy model thread, not run on the loop
    slow.gate.set()
    assert await held == {"echo": 3}
    assert await second == {"echo": 4}
    await runner.close()
    assert cheap.threads[-1].startswith("model")
