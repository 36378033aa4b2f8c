"""The build worker: claims queued builds and runs at most N at once.

The event handler only records a `queued` row (a short transaction); the worker claims rows with
`FOR UPDATE SKIP LOCKED`, so replicas share the work, and records the outcome together with its
event in one transaction (the outbox). A build keeps a heartbeat while it runs. Takeover:

- a row whose claimant was this host's predecessor (same pid namespace, pid gone: the builder
  was killed and restarted) is handed back to the queue when the worker starts (`claimant.py`);
- a row whose worker stopped heart-beating for `stale_build_seconds` is taken over by any
  replica (other hosts cannot look a pid up);
- after `max_build_attempts` claims the build fails for good.
A restarted build is safe: if the image had already been pushed, it is adopted, not pushed again.

Database outages never wedge the worker: a slot is an entry of `_running`, added when a claim
returned a build and removed when its task ends, so no path can leak one; the claim loop backs
off (0.5 s doubling up to min(5 s, poll interval)) while the database fails; a failed stage update
or heartbeat does not stop the build; an outcome that cannot be written is retried the same way
until the database answers (or, after `stale_build_seconds`, left claimed for the takeover, which
rebuilds and adopts the pushed image). The first operation that finds the database back wakes all
the others. Every background task's exception is retrieved and logged (`liveness.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from modelbay_common.db import SessionFactory, transaction
from modelbay_common.logging import log_context
from modelbay_common.tracing import span_under
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_builder.build_log import BuildLog
from modelbay_builder.build_metrics import observe_built, observe_failed
from modelbay_builder.claimant import Claimant, process_is_gone, this_process
from modelbay_builder.errors import BuildStepFailed, ImageValidationFailed, RuntimeWheelError
from modelbay_builder.liveness import LIVENESS_POLLS, Liveness, WorkerHealth
from modelbay_builder.records import BuildRequest, BuildResult, BuildStatus, ClaimedBuild
from modelbay_builder.service import record_build_failed, record_built, record_validation_failed
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.store import BuildStore

log = logging.getLogger(__name__)

OutcomeWriter = Callable[[AsyncSession], Awaitable[None]]
# Worker ids running in this process: their claims carry our pid, yet they are not a dead
# predecessor's (tests and embedded set-ups may run more than one worker per process).
_running_in_this_process: set[str] = set()
HAND_BACK_TIMEOUT_SECONDS = 10.0


class StageCallback(Protocol):
    async def __call__(self, stage: str) -> None: ...


class Runner(Protocol):
    """What the worker needs from the build pipeline (`pipeline.BuildRunner`, or a fake)."""

    async def run(
        self, request: BuildRequest, log: BuildLog, on_stage: StageCallback
    ) -> BuildResult: ...


class BuildWorker:
    def __init__(
        self,
        sessions: SessionFactory,
        runner: Runner,
        settings: BuilderSettings,
        *,
        claimant: Claimant | None = None,
    ) -> None:
        self._sessions = sessions
        self._runner = runner
        self._settings = settings
        self.claimant = claimant or this_process()
        self.worker_id = f"{self.claimant.host}:{self.claimant.pid}:{uuid.uuid4().hex[:6]}"
        self._capacity = settings.max_concurrent_builds
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._predecessors_checked = False
        poll = settings.worker_poll_seconds
        self._backoff_first = min(0.5, poll)
        # Bounded back-off: the longest wait between attempts while the database fails is also
        # the longest delay between the database coming back and the next claim.
        self._backoff_cap = max(1.0, min(5.0, poll))
        # Set when an outage ends: every operation backing off resumes at once, so the first
        # retry that finds the database back is enough for all of them.
        self._database_back = asyncio.Event()
        self.health = WorkerHealth(window_seconds=max(LIVENESS_POLLS * poll, 2 * self._backoff_cap))

    @property
    def running(self) -> int:
        return len(self._running)

    async def start(self) -> None:
        if self._loop_task is None:
            self.health.started()
            _running_in_this_process.add(self.worker_id)
            self._loop_task = asyncio.create_task(self._claim_loop(), name="builder-claim-loop")
            self.health.watch(self._loop_task, vital=True)

    def wake(self) -> None:
        """Look for work now (called after a build request was committed)."""
        self._wake.set()

    def liveness(self) -> Liveness:
        loop = self._loop_task
        return self.health.assess(
            loop_running=loop is not None and not loop.done(),
            running_builds=len(self._running),
            capacity=self._capacity,
        )

    async def stop(self) -> None:
        """Stop claiming; running builds are cancelled and handed back to the queue."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        _running_in_this_process.discard(self.worker_id)

    async def _claim_loop(self) -> None:
        failures = 0
        while True:
            self.health.loop_ticked()
            try:
                if not self._predecessors_checked:
                    await self._hand_back_dead_predecessors_builds()
                    self._predecessors_checked = True
                await self._fill_slots()
            except Exception as exc:  # the database, mostly: back off and try again
                failures += 1
                self._database_failed("claiming builds", exc)
                delay = self._backoff(failures)
            else:
                failures = 0
                delay = self._settings.worker_poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()

    async def _fill_slots(self) -> None:
        while len(self._running) < self._capacity:
            claimed = await self._claim()
            if self.health.claim_query_succeeded():
                self._database_back.set()
            if claimed is None:
                return
            task = asyncio.create_task(self._run_and_release(claimed), name=claimed.build_id)
            self.health.watch(task, vital=False)
            self._running[claimed.build_id] = task

    async def _claim(self) -> ClaimedBuild | None:
        stale = timedelta(seconds=self._settings.stale_build_seconds)
        async with transaction(self._sessions) as session:
            return await BuildStore(session).claim_next(
                self.worker_id, stale, self.claimant, running_here=list(self._running)
            )

    async def _hand_back_dead_predecessors_builds(self) -> None:
        """Requeue builds claimed in this pid namespace by a process that no longer exists."""
        if self.claimant.pid_namespace is None:
            return
        async with transaction(self._sessions) as session:
            store = BuildStore(session)
            for claim in await store.claims_in_pid_namespace(self.claimant.pid_namespace):
                if claim.worker_id in _running_in_this_process:
                    continue
                # Our own pid under a worker id not running here: a predecessor that had this pid
                # (pid 1 of a restarted container); any other pid: ask the kernel.
                gone = claim.pid == self.claimant.pid or process_is_gone(claim.pid)
                if gone and await store.requeue_claim(claim.build_id, claim.worker_id):
                    log.warning(
                        "build %s was claimed by %s (pid %d on this host), which is gone: "
                        "queued again",
                        claim.subject,
                        claim.worker_id,
                        claim.pid,
                    )

    async def _run_and_release(self, claimed: ClaimedBuild) -> None:
        try:
            with log_context(build=claimed.request.subject):
                await self._run(claimed)
        except Exception:
            # Not expected (each step handles its own failures); the row stays claimed and is
            # taken over after stale_build_seconds, so the build is retried, not lost.
            log.exception("the worker failed while running %s", claimed.request.subject)
        finally:
            self._running.pop(claimed.build_id, None)  # frees the slot, on every path
            self._wake.set()

    async def _run(self, claimed: ClaimedBuild) -> None:
        build_log = BuildLog()
        if claimed.attempts > self._settings.max_build_attempts:
            given_up = BuildStepFailed(
                f"gave up after {claimed.attempts - 1} attempts: the builder stopped during each"
            )
            await self._record_outcome(claimed, self._failure_writer(claimed, given_up, build_log))
            return
        heartbeat = asyncio.create_task(
            self._heartbeat(claimed, build_log), name=f"heartbeat:{claimed.request.subject}"
        )
        self.health.watch(heartbeat, vital=True)
        try:
            # The build continues the trace of the event that queued it; its outcome event,
            # emitted inside this span, carries the trace on to the catalog.
            with span_under(
                "builder.build",
                claimed.request.trace_context,
                **{
                    "modelbay.version": claimed.request.subject,
                    "modelbay.attempt": claimed.attempts,
                },
            ):
                outcome = await self._build(claimed, build_log)
                await self._record_outcome(claimed, outcome)
        except asyncio.CancelledError:
            await asyncio.shield(self._hand_back(claimed))
            raise
        finally:
            heartbeat.cancel()

    async def _build(self, claimed: ClaimedBuild, build_log: BuildLog) -> OutcomeWriter:
        """Run the pipeline; what to write about it (the outcome is written by the caller)."""
        try:
            result = await self._runner.run(
                claimed.request, build_log, self._stage_recorder(claimed, build_log)
            )
        except (BuildStepFailed, ImageValidationFailed) as failure:
            return self._failure_writer(claimed, failure, build_log)
        except RuntimeWheelError as exc:
            return self._failure_writer(claimed, BuildStepFailed(str(exc)), build_log)
        except Exception as exc:
            log.exception("build %s failed unexpectedly", claimed.request.subject)
            unexpected = BuildStepFailed(
                f"the builder failed unexpectedly: {type(exc).__name__}: {exc}"
            )
            return self._failure_writer(claimed, unexpected, build_log)
        log.info(
            "built %s (%s): build %.1f s (dependency layer cached: %s), validation %.1f s, "
            "push %.1f s",
            result.image_ref,
            result.image_digest,
            result.build_seconds,
            result.dependency_layer_cached,
            result.validation_seconds,
            result.push_seconds,
        )
        observe_built(result)

        async def write_success(session: AsyncSession) -> None:
            await record_built(session, claimed, result, self._tail(build_log))

        return write_success

    def _failure_writer(
        self, claimed: ClaimedBuild, failure: Exception, build_log: BuildLog
    ) -> OutcomeWriter:
        log.warning("build of %s failed: %s", claimed.request.subject, failure)
        observe_failed(failure)

        async def write_failure(session: AsyncSession) -> None:
            if isinstance(failure, ImageValidationFailed):
                await record_validation_failed(session, claimed, failure, self._tail(build_log))
            elif isinstance(failure, BuildStepFailed):
                await record_build_failed(session, claimed, failure, self._tail(build_log))

        return write_failure

    async def _record_outcome(self, claimed: ClaimedBuild, write: OutcomeWriter) -> None:
        """Write the outcome and its event; retried with back-off while the database fails.

        The heartbeat keeps running meanwhile, so no replica takes the build over while the
        result waits in memory. Past `stale_build_seconds` the row is left as it is: the takeover
        re-runs the build, which adopts an image already pushed.
        """
        give_up_at = time.monotonic() + self._settings.stale_build_seconds
        failures = 0
        while True:
            try:
                async with transaction(self._sessions) as session:
                    await write(session)
            except Exception as exc:
                failures += 1
                self._database_failed(
                    f"recording the outcome of a build ({claimed.request.subject})", exc
                )
                if time.monotonic() >= give_up_at:
                    log.error(
                        "the outcome of %s could not be recorded for %.0f s; it is left to the "
                        "takeover, which builds it again",
                        claimed.request.subject,
                        self._settings.stale_build_seconds,
                    )
                    return
                await self._pause_while_failing(failures)
            else:
                self._database_ok()
                return

    def _stage_recorder(self, claimed: ClaimedBuild, build_log: BuildLog) -> StageCallback:
        async def on_stage(stage: str) -> None:
            # The stage is progress for the API to show; a database error here must not fail
            # the build: the next heartbeat and the outcome bring the row up to date.
            try:
                async with transaction(self._sessions) as session:
                    await BuildStore(session).set_stage(
                        claimed.build_id, self.worker_id, BuildStatus(stage), self._tail(build_log)
                    )
            except Exception as exc:
                self._database_failed(f"recording stage {stage!r} of a build", exc)
            else:
                self._database_ok()

        return on_stage

    async def _heartbeat(self, claimed: ClaimedBuild, build_log: BuildLog) -> None:
        interval = max(1.0, min(10.0, self._settings.stale_build_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                async with transaction(self._sessions) as session:
                    await BuildStore(session).heartbeat(
                        claimed.build_id, self.worker_id, self._tail(build_log)
                    )
            except Exception as exc:
                self._database_failed("heart-beating a build", exc)
            else:
                self._database_ok()

    async def _hand_back(self, claimed: ClaimedBuild) -> None:
        """Give a cancelled build back to the queue (this process is stopping)."""
        try:
            async with asyncio.timeout(HAND_BACK_TIMEOUT_SECONDS):
                async with transaction(self._sessions) as session:
                    await BuildStore(session).release(claimed.build_id, self.worker_id)
        except Exception as exc:
            log.warning(
                "could not hand %s back to the queue (%s: %s); the next builder on this host "
                "takes it over at start-up, another host after stale_build_seconds",
                claimed.request.subject,
                type(exc).__name__,
                exc,
            )

    def _database_ok(self) -> None:
        if self.health.database_succeeded():
            self._database_back.set()
            self._wake.set()  # the claim loop may be backing off

    def _database_failed(self, operation: str, error: Exception) -> None:
        self._database_back.clear()
        self.health.database_failed(operation, error)

    def _backoff(self, failures: int) -> float:
        return min(self._backoff_cap, self._backoff_first * 2.0 ** (failures - 1))

    async def _pause_while_failing(self, failures: int) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._database_back.wait(), self._backoff(failures))

    def _tail(self, build_log: BuildLog) -> str:
        return build_log.tail(self._settings.log_tail_lines)
