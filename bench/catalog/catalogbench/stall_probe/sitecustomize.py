"""A stall probe for the benchmark's service processes (`CATALOGBENCH_STALL_PROBE=1`, stack.py
puts this directory first on their `PYTHONPATH`): one line per full garbage collection, and per
event-loop callback that ran longer than `CATALOGBENCH_STALL_MS` (20), in
`bench/catalog/work/stall-<pid>.log`, each with its wall-clock time, so a latency tail can be
laid against what stopped a process's loop meanwhile (docs/benchmarks.md, "the ~250 ms tail").

Costs ~1 µs per callback; a benchmark run without the variable never imports it. Found with it:
full collections of the start-up heap, 60-430 ms each (modelbay_common.serving.freeze_startup_heap).
"""

import asyncio.events
import gc
import os
import time
from pathlib import Path
from typing import Any

_SLOW_SECONDS = float(os.environ.get("CATALOGBENCH_STALL_MS", "20")) / 1000
_LOG = Path(os.environ.get("CATALOGBENCH_STALL_DIR", ".")) / f"stall-{os.getpid()}.log"
_log = _LOG.open("a", buffering=1)
_collection_started = [0.0]


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    if info["generation"] != 2:
        return
    if phase == "start":
        _collection_started[0] = time.perf_counter()
        return
    took = (time.perf_counter() - _collection_started[0]) * 1000
    tracked = len(gc.get_objects(2))  # after the timing: listing them costs a few ms
    _log.write(f"{time.time():.3f} gc2 {took:.1f} ms, {tracked} objects in generation 2\n")


_run = asyncio.events.Handle._run


def _timed_run(self: asyncio.events.Handle) -> None:
    started = time.perf_counter()
    _run(self)
    took = time.perf_counter() - started
    if took > _SLOW_SECONDS:
        _log.write(f"{time.time():.3f} callback {took * 1000:.1f} ms {self._callback!r:.200}\n")


gc.callbacks.append(_on_collection)
asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]
