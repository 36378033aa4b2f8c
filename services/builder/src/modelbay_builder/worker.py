"""The build worker: claims queued builds and runs at most N at once.

The event handler only records a `queued` row (a short transaction); the worker claims rows with
`FOR UPDATE SKIP LOCKED`, so replicas share the work, and records the outcome together with its
event in one transaction (the outbox). A build keeps a heartbeat while it runs; a row whose
worker died is taken over after `stale_build_seconds`, and given up after `max_build_attempts`.
A restarted build is safe: if the image had already been pushed, it is adopted, not pushed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Protocol

from modelbay_common.db import SessionFactory, transaction
from modelbay_common.logging import log_context

from modelbay_builder.build_log import BuildLog
from modelbay_builder.errors import BuildStepFailed, ImageValidationFailed, RuntimeWheelError
from modelbay_builder.records import BuildRequest, BuildResult, BuildStatus, ClaimedBuild
from modelbay_builder.service import record_build_failed, record_built, record_validation_failed
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.store import BuildStore

log = logging.getLogger(__name__)


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
        worker_id: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._runner = runner
        self._settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._slots = asyncio.Semaphore(settings.max_concurrent_builds)
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}

    @property
    def running(self) -> int:
        return len(self._running)

    async def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._claim_loop(), name="builder-worker")

    def wake(self) -> None:
        """Look for work now (called after a build request was committed)."""
        self._wake.set()

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

    async def run_until_idle(self) -> None:
        """Claim and finish builds until none is queued (tests and the embedded mode)."""
        while True:
            await self._fill_slots()
            if not self._running:
                return
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def _claim_loop(self) -> None:
        while True:
            try:
                await self._fill_slots()
            except Exception:
                log.exception("claiming builds failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.worker_poll_seconds)
            self._wake.clear()

    async def _fill_slots(self) -> None:
        while not self._slots.locked():
            await self._slots.acquire()
            claimed = await self._claim()
            if claimed is None:
                self._slots.release()
                return
            task = asyncio.create_task(self._run_and_release(claimed), name=claimed.build_id)
            self._running[claimed.build_id] = task

    async def _claim(self) -> ClaimedBuild | None:
        stale = timedelta(seconds=self._settings.stale_build_seconds)
        async with transaction(self._sessions) as session:
            return await BuildStore(session).claim_next(self.worker_id, stale)

    async def _run_and_release(self, claimed: ClaimedBuild) -> None:
        try:
            with log_context(build=claimed.request.subject):
                await self._run(claimed)
        finally:
            self._running.pop(claimed.build_id, None)
            self._slots.release()
            self._wake.set()

    async def _run(self, claimed: ClaimedBuild) -> None:
        build_log = BuildLog()
        if claimed.attempts > self._settings.max_build_attempts:
            given_up = BuildStepFailed(
                f"gave up after {claimed.attempts - 1} attempts: the builder stopped during each"
            )
            await self._record_failure(claimed, given_up, build_log)
            return
        heartbeat = asyncio.create_task(self._heartbeat(claimed, build_log))
        try:
            result = await self._runner.run(
                claimed.request, build_log, self._stage_recorder(claimed, build_log)
            )
        except asyncio.CancelledError:
            await asyncio.shield(self._release(claimed))
            raise
        except (BuildStepFailed, ImageValidationFailed) as failure:
            await self._record_failure(claimed, failure, build_log)
        except RuntimeWheelError as exc:
            await self._record_failure(claimed, BuildStepFailed(str(exc)), build_log)
        except Exception as exc:
            log.exception("build %s failed unexpectedly", claimed.request.subject)
            unexpected = BuildStepFailed(
                f"the builder failed unexpectedly: {type(exc).__name__}: {exc}"
            )
            await self._record_failure(claimed, unexpected, build_log)
        else:
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
            async with transaction(self._sessions) as session:
                await record_built(session, claimed, result, self._tail(build_log))
        finally:
            heartbeat.cancel()

    async def _record_failure(
        self, claimed: ClaimedBuild, failure: Exception, build_log: BuildLog
    ) -> None:
        log.warning("build of %s failed: %s", claimed.request.subject, failure)
        async with transaction(self._sessions) as session:
            if isinstance(failure, ImageValidationFailed):
                await record_validation_failed(session, claimed, failure, self._tail(build_log))
            elif isinstance(failure, BuildStepFailed):
                await record_build_failed(session, claimed, failure, self._tail(build_log))

    def _stage_recorder(self, claimed: ClaimedBuild, build_log: BuildLog) -> StageCallback:
        async def on_stage(stage: str) -> None:
            async with transaction(self._sessions) as session:
                await BuildStore(session).set_stage(
                    claimed.build_id, self.worker_id, BuildStatus(stage), self._tail(build_log)
                )

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
            except Exception:
                log.warning("heartbeat of %s failed", claimed.request.subject, exc_info=True)

    async def _release(self, claimed: ClaimedBuild) -> None:
        async with transaction(self._sessions) as session:
            await BuildStore(session).release(claimed.build_id, self.worker_id)

    def _tail(self, build_log: BuildLog) -> str:
        return build_log.tail(self._settings.log_tail_lines)
