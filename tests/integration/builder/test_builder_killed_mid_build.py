"""A builder killed with SIGKILL mid-build: its successor on this host resumes the build at once.

Issue 11, defect 4, reproduced with real processes: a builder process (a fake runner that never
finishes, real Postgres) claims a build and is killed with `kill -9`; its heartbeat is fresh, so
the 300 s stale takeover cannot be what rescues the build. A builder started next on the same
host requeues it because the claimant's pid is gone, and builds it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

from modelbay_builder.build_log import BuildLog
from modelbay_builder.main import build_service
from modelbay_builder.records import BuildRequest, BuildResult, BuildStatus
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.store import BuildStore
from modelbay_builder.worker import StageCallback
from modelbay_common.db import create_engine, session_factory, transaction
from modelbay_common.migrations import upgrade
from sqlalchemy import text

SAFETY_TIMEOUT = 60.0  # far below the 300 s stale takeover: only the pid check can finish in time

BUILDER_THAT_HANGS = textwrap.dedent(
    """
    import asyncio, sys
    from modelbay_builder.main import build_service
    from modelbay_builder.settings import BuilderSettings

    class Hangs:
        async def run(self, request, log, on_stage):
            await on_stage("validating")
            print("BUILDING", request.subject, flush=True)
            await asyncio.Event().wait()

    async def main():
        database_url, blob_url, work_dir = sys.argv[1:4]
        settings = BuilderSettings(
            database_url=database_url, bus_url="memory://", blob_url=blob_url,
            work_dir=work_dir, worker_poll_seconds=0.2, log_json=False,
        )
        service = build_service(settings, runner=Hangs())
        await service.start()
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


class Succeeds:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def run(
        self, request: BuildRequest, log: BuildLog, on_stage: StageCallback
    ) -> BuildResult:
        self.calls.append(request.subject)
        await on_stage("pushing")
        return BuildResult(
            image_ref=f"127.0.0.1:5000/{request.owner}/{request.name}:{request.version}",
            image_id="sha256:" + "1" * 64,
            image_digest="sha256:" + "2" * 64,
            image_size=1234,
            sbom_uri=f"sboms/{request.owner}/{request.name}/{request.version}.cdx.json",
            dependency_layer_cached=True,
            build_seconds=1.0,
            validation_seconds=0.5,
            push_seconds=0.1,
        )


REQUEST = BuildRequest(
    owner="alice",
    name="iris",
    version=1,
    bundle_uri="b",
    bundle_sha256="a" * 64,
    python_version="3.11",
    lock=("numpy==2.0.0",),
    lock_hash="f" * 64,
    wheelhouse_uri="w",
)


async def _queue_one_build(database_url: str) -> None:
    await upgrade("builder", database_url)
    engine = create_engine(database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            assert await BuildStore(session).enqueue(REQUEST)
    finally:
        await engine.dispose()


async def _start_builder_that_hangs(
    database_url: str, tmp_path: Path
) -> asyncio.subprocess.Process:
    builder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BUILDER_THAT_HANGS,
        database_url,
        (tmp_path / "blobs").as_uri(),
        str(tmp_path / "work"),
        stdout=asyncio.subprocess.PIPE,
    )
    assert builder.stdout is not None

    async def building() -> None:
        while True:
            line = await builder.stdout.readline()  # type: ignore[union-attr]
            assert line, "the builder process exited before it claimed the build"
            if line.decode().startswith("BUILDING alice/iris/1"):
                return

    try:
        await asyncio.wait_for(building(), SAFETY_TIMEOUT)
    except BaseException:
        builder.kill()
        await builder.wait()
        raise
    return builder


async def test_a_build_killed_mid_flight_is_resumed_at_once_by_the_next_builder_on_this_host(
    fresh_database_url: str, tmp_path: Path
) -> None:
    await _queue_one_build(fresh_database_url)
    killed = await _start_builder_that_hangs(fresh_database_url, tmp_path)
    os.kill(killed.pid, signal.SIGKILL)
    await killed.wait()
    killed_at = time.monotonic()

    runner = Succeeds()
    settings = BuilderSettings(
        database_url=fresh_database_url,
        bus_url="memory://",
        blob_url=(tmp_path / "blobs").as_uri(),
        work_dir=tmp_path / "work",
        worker_poll_seconds=0.2,
        log_json=False,
    )
    assert settings.stale_build_seconds == 300.0
    successor = build_service(settings, runner=runner)
    async with transaction(successor.sessions) as session:
        row = (
            await session.execute(
                text(
                    "SELECT status, claimant_pid, claimant_host, claimant_pid_namespace, "
                    "heartbeat_at > now() - interval '1 minute' AS fresh FROM builder.builds"
                )
            )
        ).one()
    assert row.status == BuildStatus.VALIDATING.value  # mid-build when it was killed
    assert row.claimant_pid == killed.pid
    assert row.claimant_pid_namespace == successor.worker.claimant.pid_namespace
    assert row.fresh  # the heartbeat takeover would wait minutes more

    await successor.start()
    try:

        async def rebuilt() -> tuple[BuildStatus, int]:
            while True:
                async with transaction(successor.sessions) as session:
                    view = await BuildStore(session).find("alice", "iris", 1)
                assert view is not None
                if view.status is BuildStatus.SUCCEEDED:
                    return view.status, view.attempts
                await asyncio.sleep(0.05)

        status, attempts = await asyncio.wait_for(rebuilt(), SAFETY_TIMEOUT)
        print(f"FIGURE kill -9 -> rebuilt by the successor (s): {time.monotonic() - killed_at:.2f}")
    finally:
        await successor.stop()
    assert (status, attempts) == (BuildStatus.SUCCEEDED, 2)
    assert runner.calls == ["alice/iris/1"]
