"""Whether the build worker is alive, and one log line per database outage.

The builder's `/healthz` asks `WorkerHealth.assess()`. The worker is *live* when all hold:

- its claim loop task is running (a loop that ended, even with an exception, is dead), and every
  vital background task (the claim loop, each build's heartbeat) is still running;
- the loop went round within the window (it is not stuck on an await);
- it either made a successful claim query within the window (claimed a build, or found none
  queued: idle with nothing to do), or every slot is taken by a running build (busy, so it need
  not ask);
- no database outage has lasted longer than the window: any database operation of the worker
  (claim, heartbeat, stage, outcome) failing starts one, any success ends it.

The window is `LIVENESS_POLLS` poll intervals (30 s with the default `WORKER_POLL_SECONDS` of
5 s; at least two back-off pauses), so it scales with how often the worker looks for work. An
outage shorter than the window leaves the worker live; a longer one shows as not live until the
database answers again. The builder recovers by itself, so a supervisor that restarts on failed
liveness only needs a threshold longer than the outages it wants to ride out. Readiness
(`/readyz`: the database answers now) is separate and lives in the API.

Logging: the first failure of an outage is logged once, with its traceback; later failures of
the same outage are debug lines; the end of the outage is logged with its length.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("modelbay_builder.worker")

LIVENESS_POLLS = 6


@dataclass(frozen=True)
class Liveness:
    """The answer of `/healthz`: `live`, and the facts it was decided on."""

    live: bool
    reason: str
    running_builds: int
    capacity: int
    seconds_since_claim_query: float | None
    database_failing_for_seconds: float | None


class WorkerHealth:
    """Progress and database-outage bookkeeping of one `BuildWorker`."""

    def __init__(self, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_seconds = window_seconds
        self._clock = clock
        self._started_at: float | None = None
        self._loop_tick_at: float | None = None
        self._claim_ok_at: float | None = None
        self._failing_since: float | None = None
        self._failures_in_outage = 0
        self._dead_task: str | None = None

    def started(self) -> None:
        now = self._clock()
        self._started_at = self._loop_tick_at = now
        self._dead_task = None

    def loop_ticked(self) -> None:
        self._loop_tick_at = self._clock()

    def claim_query_succeeded(self) -> bool:
        self._claim_ok_at = self._clock()
        return self.database_succeeded()

    def database_succeeded(self) -> bool:
        """Record a successful database operation; True when it ended an outage."""
        if self._failing_since is None:
            return False
        log.warning(
            "the database answers again after %.1f s (%d operations failed meanwhile); "
            "the builder carries on",
            self._clock() - self._failing_since,
            self._failures_in_outage,
        )
        self._failing_since = None
        self._failures_in_outage = 0
        return True

    def database_failed(self, operation: str, error: BaseException) -> None:
        self._failures_in_outage += 1
        if self._failing_since is not None:
            log.debug("still failing: %s: %s: %s", operation, type(error).__name__, error)
            return
        self._failing_since = self._clock()
        log.error(
            "database error while %s (%s: %s); the builder retries with back-off and says "
            "when the database answers again",
            operation,
            type(error).__name__,
            error,
            exc_info=error,
        )

    def watch(self, task: asyncio.Task[None], *, vital: bool) -> None:
        """Retrieve and log the task's exception; a vital task that ends makes the worker dead."""

        def on_done(done: asyncio.Task[None]) -> None:
            if done.cancelled():
                return
            error = done.exception()
            if error is not None:
                log.error("background task %s failed", done.get_name(), exc_info=error)
            if vital:
                self._dead_task = f"{done.get_name()} ended" + (
                    f": {type(error).__name__}: {error}" if error is not None else ""
                )

        task.add_done_callback(on_done)

    def assess(self, *, loop_running: bool, running_builds: int, capacity: int) -> Liveness:
        now = self._clock()

        def since(moment: float | None) -> float | None:
            return None if moment is None else round(now - moment, 3)

        claim_age = since(self._claim_ok_at)
        failing_for = since(self._failing_since)

        def verdict(live: bool, reason: str) -> Liveness:
            return Liveness(live, reason, running_builds, capacity, claim_age, failing_for)

        if self._started_at is None:
            return verdict(False, "the build worker is not started")
        if self._dead_task is not None:
            return verdict(False, f"a background task of the worker died: {self._dead_task}")
        if not loop_running:
            return verdict(False, "the claim loop is not running")
        window = self.window_seconds
        if failing_for is not None and failing_for > window:
            return verdict(False, f"database operations have failed for {failing_for:.1f} s")
        if now - (self._loop_tick_at or self._started_at) > window:
            return verdict(False, f"the claim loop has not gone round for over {window:.1f} s")
        busy = running_builds >= capacity
        last_progress = self._claim_ok_at if self._claim_ok_at is not None else self._started_at
        if not busy and now - last_progress > window:
            return verdict(
                False, f"free build slots, yet no successful claim query for over {window:.1f} s"
            )
        if busy:
            return verdict(True, "busy: every build slot is running a build")
        return verdict(True, "claiming" if running_builds else "idle: nothing queued")
