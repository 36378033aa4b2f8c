"""Calling a model method off the event loop, and turning its failures into problems.

`InputError` (from the codec, raised by `LoadedMethod.call`) is the client's fault: 422 naming
the field. Anything else raised by the model is the model's failure: logged with its traceback,
answered as a generic 500.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, Protocol

from modelbay_runtime.server.model import ServableMethod
from modelbay_runtime.server.problem import ProblemError, internal_error, invalid_input

log = logging.getLogger("modelbay_runtime.server")


@cache
def input_error_types() -> tuple[type[BaseException], ...]:
    """The codec's InputError, looked up lazily so the server imports without the codec module."""
    try:
        codec = importlib.import_module("modelbay_runtime.codec")
    except ImportError:
        return ()
    found = getattr(codec, "InputError", None)
    return (found,) if isinstance(found, type) and issubclass(found, BaseException) else ()


def problem_from_input_error(exc: BaseException) -> ProblemError:
    path = getattr(exc, "path", None)
    if isinstance(path, list | tuple):
        path = ".".join(str(p) for p in path)
    message = getattr(exc, "message", None) or str(exc)
    return invalid_input(str(path) if path not in (None, "") else None, str(message))


def guarded_call(method: ServableMethod, payload: dict[str, Any]) -> dict[str, Any]:
    """Run in the model thread: the model's result, or a ProblemError for the client."""
    try:
        result = method.call(payload)
    except ProblemError:
        raise
    except input_error_types() as exc:
        raise problem_from_input_error(exc) from None
    except Exception:
        log.exception("method %r raised while handling a request", method.name)
        raise internal_error() from None
    if not isinstance(result, dict):
        log.error("method %r returned %s, not a dict", method.name, type(result).__name__)
        raise internal_error()
    return result


class Runner(Protocol):
    """What calls the model for the server: threads of this process (`ModelRunner`) or a model
    process of its own (`model_process.ProcessRunner`, docs/runtime.md "Model process")."""

    async def call(self, method: ServableMethod, payload: dict[str, Any]) -> dict[str, Any]: ...
    async def call_raw(self, method: ServableMethod, payload: dict[str, Any]) -> Any: ...
    async def close(self) -> None: ...


# A call measured cheaper than this runs on the event loop itself: handing it to a thread and
# back (two wake-ups) costs more than the call. onnxruntime answers a small graph in ~6 µs.
INLINE_BELOW_S = 100e-6
_SMOOTHING = 0.2  # weight of the newest call in a method's running cost
_UNMEASURED_S = 1.0  # until a method's first call has been timed, it is not cheap
Call = Callable[[ServableMethod, dict[str, Any]], Any]


class ModelRunner:
    """Owns the thread(s) that call the model, so the event loop keeps serving meanwhile.

    A method whose calls are measured cheaper than `INLINE_BELOW_S` (an ONNX graph, a linear
    model) is called on the loop instead, but only while no model thread is busy, so the model
    is never called concurrently with one model thread (issue 14, the ONNX overhead target).
    A slow call raises the method's running cost and sends it back to the threads."""

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="model")
        self._busy = 0
        self._cost: dict[str, float] = {}

    async def call(self, method: ServableMethod, payload: dict[str, Any]) -> dict[str, Any]:
        """Guarded call: raises ProblemError (4xx for bad input, generic 500 for model failure)."""
        result: dict[str, Any] = await self._run(guarded_call, method, payload)
        return result

    async def call_raw(self, method: ServableMethod, payload: dict[str, Any]) -> Any:
        """Unguarded call for merged batches: the batcher decides what a failure means."""
        return await self._run(_plain_call, method, payload)

    async def _run(self, call: Call, method: ServableMethod, payload: dict[str, Any]) -> Any:
        if self._busy == 0 and self._cost.get(method.name, _UNMEASURED_S) < INLINE_BELOW_S:
            return self._timed(call, method, payload)
        loop = asyncio.get_running_loop()
        self._busy += 1
        try:
            return await loop.run_in_executor(self._executor, self._timed, call, method, payload)
        finally:
            self._busy -= 1

    def _timed(self, call: Call, method: ServableMethod, payload: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return call(method, payload)
        finally:
            spent = time.perf_counter() - started
            previous = self._cost.get(method.name)
            self._cost[method.name] = (
                spent if previous is None else previous + _SMOOTHING * (spent - previous)
            )

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _plain_call(method: ServableMethod, payload: dict[str, Any]) -> Any:
    return method.call(payload)
