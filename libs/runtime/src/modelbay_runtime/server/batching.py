"""Adaptive batching: concurrent requests to a row-wise method share one model call.

A method is row-wise when every input and output field is a column (a list with one entry per
row). Requests are merged by concatenating their columns, the model is called once, and the
output columns are cut back at the same offsets, so each caller gets exactly its rows.

Requests of any size merge, by rows, while the batch stays within the cost budget `max_rows`
(`max_batch_size`, 1024 rows by default): a model call has a large fixed cost (a forest's set-up,
numpy conversion, the thread hand-off), so eight 100-row requests cost about one call. A request
larger than the budget is called alone; a batch closes before a request that would overflow it.

"Adaptive": a request that finds the model idle and nobody else arriving is sent at once (no
added latency at low load). While the model is busy, new requests queue up and the next call
takes all of them; a batch waits up to `max_wait` only for requests already being received.
At most one merged call per method is in flight, which is what lets batches grow under load.

Isolation: a request joins a batch only if its columns have the right shapes and types; if a
merged call still raises, each request is retried on its own so only the culprit fails. If the
model's output row count differs from the input's, the method is not row-wise after all: it is
switched to per-request calls for the life of the process (logged once).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelbay_runtime.server.columns import ColumnLayout
from modelbay_runtime.server.invoke import Runner
from modelbay_runtime.server.model import ServableMethod

log = logging.getLogger("modelbay_runtime.server")

_LOOP_TURNS = 3
BatchObserver = Callable[[str, int, int], None]  # (method, rows, requests)


@dataclass
class _Job:
    payload: dict[str, Any]
    rows: int
    future: asyncio.Future[dict[str, Any]]


class Batcher:
    def __init__(
        self,
        method: ServableMethod,
        layout: ColumnLayout,
        runner: Runner,
        *,
        max_rows: int,
        max_wait_s: float,
        observe: BatchObserver,
    ) -> None:
        self.method = method
        self.layout = layout
        self.enabled = True
        self._runner = runner
        self._max_rows = max_rows
        self._max_wait_s = max_wait_s
        self._observe = observe
        self._queue: deque[_Job] = deque()
        self._wakeup = asyncio.Event()
        self._arriving = 0
        # Callers the last model call answered, plus those queued when it ended: under
        # sustained load they are about to send again (see _collect). When it ended (loop time).
        self._expected = 0
        self._answered_at = float("-inf")
        self._task: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        """Requests waiting for the next model call."""
        return len(self._queue)

    def arriving(self) -> _Arrival:
        """Mark a request that is being read/decoded, so a forming batch may wait for it."""
        return _Arrival(self)

    def accepts(self, payload: dict[str, Any]) -> int | None:
        """The request's row count if it may join a batch, else None (call it on its own)."""
        if not self.enabled:
            return None
        rows = self.layout.input_rows(payload)
        if rows is None or rows == 0 or rows > self._max_rows:
            return None
        return rows

    async def submit(self, payload: dict[str, Any], rows: int) -> dict[str, Any]:
        return await self.enqueue(payload, rows)

    def enqueue(self, payload: dict[str, Any], rows: int) -> asyncio.Future[dict[str, Any]]:
        """Queue a request for the next model call; its future gets the request's own rows
        (the hot path, hot_path.py, answers from the future's callback instead of awaiting)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Job(payload, rows, future))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._serve(), name=f"batcher:{self.method.name}")
        return future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for job in self._queue:
            if not job.future.done():
                job.future.cancel()

    async def _serve(self) -> None:
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = await self._collect()
            try:
                await self._execute(batch)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # keep serving; never leave a caller hanging
                log.exception("batcher for %r failed", self.method.name)
                for job in batch:
                    _settle_error(job, exc)
            self._expected = len(batch) + len(self._queue)
            self._answered_at = asyncio.get_running_loop().time()

    async def _collect(self) -> list[_Job]:
        loop = asyncio.get_running_loop()
        # While the model ran it held the GIL most of the time, so requests may sit unread in
        # socket buffers. A few loop turns let uvicorn read and parse them (their handlers then
        # count as arriving) before the batch is closed; at low load this costs microseconds.
        for _ in range(_LOOP_TURNS):
            await asyncio.sleep(0)
        first = self._queue.popleft()
        batch, rows = [first], first.rows
        now = loop.time()
        deadline = now + self._max_wait_s
        # Under sustained load the callers the last call answered come straight back (a client
        # that got its answer sends its next request). With the model in its own process the
        # loop answers them while the model is idle, so without waiting the calls alternate
        # between two half-size batches, each paying the model's whole fixed cost. Waiting (at
        # most max_wait, and only right after a call) lets them join; at low load the last call
        # answered one request and nobody waits.
        expected = self._expected if now - self._answered_at <= self._max_wait_s else 0
        while rows < self._max_rows:
            if self._queue:
                if rows + self._queue[0].rows > self._max_rows:
                    break
                job = self._queue.popleft()
                batch.append(job)
                rows += job.rows
                continue
            remaining = deadline - loop.time()
            if (self._arriving <= 0 and len(batch) >= expected) or remaining <= 0:
                break  # nobody else is on the way: don't make the callers wait
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
        return batch

    async def _execute(self, batch: list[_Job]) -> None:
        batch = [job for job in batch if not job.future.done()]  # callers that went away
        if not batch:
            return
        total = sum(job.rows for job in batch)
        self._observe(self.method.name, total, len(batch))
        if len(batch) == 1 or not self.enabled:
            await self._one_by_one(batch)
            return
        merged = self.layout.merge([job.payload for job in batch])
        try:
            output = await self._runner.call_raw(self.method, merged)
        except Exception as exc:
            log.info(
                "merged call of %d requests to %r raised %s; retrying them one by one",
                len(batch),
                self.method.name,
                type(exc).__name__,
            )
            await self._one_by_one(batch)
            return
        parts = self.layout.split(output, [job.rows for job in batch])
        if parts is None:
            self.enabled = False
            log.warning(
                "method %r is marked batchable but its output rows do not match its input "
                "rows; batching is switched off for it",
                self.method.name,
            )
            await self._one_by_one(batch)
            return
        for job, part in zip(batch, parts, strict=True):
            if not job.future.done():
                job.future.set_result(part)

    async def _one_by_one(self, batch: list[_Job]) -> None:
        for job in batch:
            if job.future.done():
                continue
            try:
                result = await self._runner.call(self.method, job.payload)
            except Exception as exc:
                _settle_error(job, exc)
            else:
                if not job.future.done():
                    job.future.set_result(result)


class _Arrival:
    """`with batcher.arriving():` as a plain class: a generator-based context manager cost a
    measurable share of the event loop's time per request (issue 14's loop profile)."""

    __slots__ = ("_batcher",)

    def __init__(self, batcher: Batcher) -> None:
        self._batcher = batcher

    def __enter__(self) -> None:
        self._batcher._arriving += 1

    def __exit__(self, *exc_info: object) -> None:
        self._batcher._arriving -= 1


def _settle_error(job: _Job, exc: BaseException) -> None:
    if not job.future.done():
        job.future.set_exception(exc)
