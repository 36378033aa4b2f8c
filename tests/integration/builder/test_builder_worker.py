"""The builder's queue and worker against real Postgres, with a fake build pipeline.

The fake runner stands in for Docker (covered by test_builder_pipeline.py); what is tested here
is the part around it: idempotency per version, the concurrency bound, failure events, and the
take-over of a build whose worker died.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from modelbay_builder.build_log import BuildLog
from modelbay_builder.claimant import Claimant, this_process
from modelbay_builder.errors import BuildStepFailed, ImageValidationFailed
from modelbay_builder.main import BuilderService, build_service
from modelbay_builder.records import BuildRequest, BuildResult, BuildStatus
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.store import BuildStore
from modelbay_builder.worker import StageCallback
from modelbay_common.db import transaction
from modelbay_common.events import (
    DependenciesResolved,
    Envelope,
    ImageBuildFailed,
    ImageBuilt,
    ValidationFailed,
    envelope,
)
from modelbay_common.internal_auth import InternalAuth
from sqlalchemy import text

SAFETY_TIMEOUT = 60.0


class FakeRunner:
    """Builds succeed unless the model name says otherwise; tracks how many run at once."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.running = 0
        self.max_running = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def run(
        self, request: BuildRequest, log: BuildLog, on_stage: StageCallback
    ) -> BuildResult:
        self.calls.append(request.subject)
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            log.line(f"building {request.subject}")
            await self.gate.wait()
            await on_stage("validating")
            if request.name == "broken":
                raise BuildStepFailed("docker build failed: pip could not install", "pip said no")
            if request.name == "wrong":
                raise ImageValidationFailed(
                    "sample 1 of method 'classify' gave a different output",
                    method="classify",
                    sample_index=1,
                    expected={"y": [1]},
                    actual={"y": [2]},
                )
            await on_stage("pushing")
            return BuildResult(
                image_ref=f"127.0.0.1:5000/{request.owner}/{request.name}:{request.version}",
                image_id="sha256:" + "1" * 64,
                image_digest="sha256:" + "2" * 64,
                image_size=1234,
                sbom_uri=f"sboms/{request.owner}/{request.name}/{request.version}.cdx.json",
                dependency_layer_cached=True,
                build_seconds=1.5,
                validation_seconds=0.5,
                push_seconds=0.1,
            )
        finally:
            self.running -= 1


class Harness:
    def __init__(self, service: BuilderService, runner: FakeRunner, events: list[Envelope]) -> None:
        self.service, self.runner, self.events = service, runner, events

    async def resolved(self, name: str, version: int, *, event_id: str | None = None) -> None:
        event = DependenciesResolved(
            owner="alice",
            name=name,
            version=version,
            bundle_uri="bundles/sha256/" + "a" * 64 + ".tar.gz",
            bundle_sha256="a" * 64,
            python_version="3.11",
            lock=("numpy==2.0.0",),
            lock_hash="f" * 64,
            wheelhouse_uri="wheelhouses/" + "f" * 64 + ".tar",
        )
        await self.service.bus.publish(
            envelope(event, source="/modelbay/onboarding", event_id=event_id)
        )

    async def outcomes(self, count: int) -> list[Envelope]:
        async def poll() -> list[Envelope]:
            while True:
                produced = [e for e in self.events if e.source == "/modelbay/builder"]
                if len(produced) >= count:
                    return produced
                await asyncio.sleep(0.05)

        return await asyncio.wait_for(poll(), SAFETY_TIMEOUT)


def settings_for(database_url: str, blobs: Path, **overrides: Any) -> BuilderSettings:
    return BuilderSettings(
        database_url=database_url,
        bus_url="memory://",
        blob_url=blobs.as_uri(),
        work_dir=blobs.parent / "work",
        max_concurrent_builds=2,
        worker_poll_seconds=0.2,
        outbox_poll_seconds=0.1,
        log_json=False,
        **overrides,
    )


@pytest.fixture
async def harness(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    runner = FakeRunner()
    service = build_service(settings_for(fresh_database_url, tmp_path / "blobs"), runner=runner)
    events: list[Envelope] = []

    async def observe(event: Envelope) -> None:
        events.append(event)

    await service.bus.subscribe("test.observer", ["modelbay.model.#"], observe)
    await service.start()
    try:
        yield Harness(service, runner, events)
    finally:
        await service.stop()


async def test_builds_run_at_most_the_configured_number_at_once(harness: Harness) -> None:
    harness.runner.gate.clear()
    for version in range(1, 6):
        await harness.resolved("iris", version)

    async def two_running() -> None:
        while harness.runner.running < 2:  # noqa: ASYNC110 - polling a counter of the fake
            await asyncio.sleep(0.05)

    await asyncio.wait_for(two_running(), SAFETY_TIMEOUT)
    await asyncio.sleep(0.5)  # give a third build every chance to start if the bound were broken
    assert harness.runner.running == 2
    harness.runner.gate.set()
    built = await harness.outcomes(5)
    assert sorted(e.event_as(ImageBuilt).version for e in built) == [1, 2, 3, 4, 5]
    assert harness.runner.max_running == 2


async def test_a_version_is_built_once_however_often_it_is_announced(harness: Harness) -> None:
    same_id = str(uuid.uuid4())
    await harness.resolved("iris", 1, event_id=same_id)
    await harness.resolved("iris", 1, event_id=same_id)  # redelivery (inbox)
    await harness.resolved("iris", 1)  # a second event for the same version (build table)
    (built,) = await harness.outcomes(1)
    await harness.service.bus.drain()  # type: ignore[attr-defined]
    await asyncio.sleep(0.5)
    assert harness.runner.calls == ["alice/iris/1"]
    assert [e.type for e in harness.events if e.source == "/modelbay/builder"] == [built.type]
    event = built.event_as(ImageBuilt)
    assert event.dependency_layer_cached is True
    assert event.sbom_uri == "sboms/alice/iris/1.cdx.json"


async def test_failures_become_the_matching_events(harness: Harness) -> None:
    await harness.resolved("broken", 1)
    await harness.resolved("wrong", 1)
    outcomes = {e.data.name: e for e in await harness.outcomes(2)}

    build_failed = outcomes["broken"].event_as(ImageBuildFailed)
    assert build_failed.reason == "docker build failed: pip could not install"
    assert build_failed.log_tail == "pip said no"

    validation_failed = outcomes["wrong"].event_as(ValidationFailed)
    assert validation_failed.method == "classify"
    assert validation_failed.sample_index == 1
    assert validation_failed.expected == {"y": [1]}
    assert validation_failed.actual == {"y": [2]}

    async with transaction(harness.service.sessions) as session:
        view = await BuildStore(session).find("alice", "wrong", 1)
    assert view is not None
    assert view.status is BuildStatus.FAILED
    assert view.failure_kind == "validation"
    assert "building alice/wrong/1" in view.log_tail


async def test_a_build_whose_worker_died_is_taken_over(
    fresh_database_url: str, tmp_path: Path
) -> None:
    runner = FakeRunner()
    settings = settings_for(fresh_database_url, tmp_path / "blobs", stale_build_seconds=1.0)
    first = build_service(settings, runner=runner)
    await first.start()
    await first.worker.stop()  # this "replica" dies right after claiming, below
    async with transaction(first.sessions) as session:
        store = BuildStore(session)
        request = BuildRequest(
            owner="alice",
            name="iris",
            version=7,
            bundle_uri="b",
            bundle_sha256="a" * 64,
            python_version="3.11",
            lock=("numpy==2.0.0",),
            lock_hash="f" * 64,
            wheelhouse_uri="w",
        )
        assert await store.enqueue(request)
        claimed = await store.claim_next("dead-worker", timedelta(seconds=1))
        assert claimed is not None
        await session.execute(
            text("UPDATE builder.builds SET heartbeat_at = now() - interval '1 hour'")
        )
    await first.stop()

    second = build_service(settings, runner=runner)
    await second.start()
    try:

        async def finished() -> None:
            while True:
                async with transaction(second.sessions) as session:
                    view = await BuildStore(session).find("alice", "iris", 7)
                if view is not None and view.status is BuildStatus.SUCCEEDED:
                    assert view.attempts == 2
                    return
                await asyncio.sleep(0.1)

        await asyncio.wait_for(finished(), SAFETY_TIMEOUT)
    finally:
        await second.stop()
    assert runner.calls == ["alice/iris/7"]


def _request(version: int) -> BuildRequest:
    return BuildRequest(
        owner="alice",
        name="iris",
        version=version,
        bundle_uri="b",
        bundle_sha256="a" * 64,
        python_version="3.11",
        lock=("numpy==2.0.0",),
        lock_hash="f" * 64,
        wheelhouse_uri="w",
    )


def _exited_pid() -> int:
    """A pid that belonged to a process of this host that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.fixture
def live_process() -> Iterator[subprocess.Popen[bytes]]:
    """Another process of this host that stays alive during the test (a live builder)."""
    process = subprocess.Popen(["sleep", "120"])
    yield process
    process.kill()
    process.wait()


async def test_builds_of_a_dead_predecessor_on_this_host_are_taken_over_at_once(
    fresh_database_url: str, tmp_path: Path, live_process: subprocess.Popen[bytes]
) -> None:
    """Issue 11, defect 4: no 300 s wait when the claimant was this host's process and is gone.

    Every claim below has a fresh heartbeat, so the stale takeover (300 s) plays no part.
    """
    runner = FakeRunner()
    settings = settings_for(fresh_database_url, tmp_path / "blobs")  # stale after 300 s
    me = this_process()
    assert me.pid_namespace is not None, "this test needs /proc (Linux)"
    claimants = {
        7: Claimant(me.host, _exited_pid(), me.pid_namespace),  # killed builder: gone
        8: Claimant(me.host, live_process.pid, me.pid_namespace),  # another builder here, alive
        9: Claimant(me.host, me.pid, me.pid_namespace),  # had our pid (restarted container)
        10: Claimant("elsewhere", _exited_pid(), "other-boot/pid:[1]"),  # another host
    }
    # A live worker of this very process (our pid, too): its claims are not a predecessor's.
    neighbour = build_service(settings, runner=runner)
    await neighbour.start()
    worker_ids = {v: f"{c.host}:{c.pid}:old" for v, c in claimants.items()}
    claimants[11], worker_ids[11] = me, neighbour.worker.worker_id
    async with transaction(neighbour.sessions) as session:
        store = BuildStore(session)
        for version, claimant in claimants.items():
            assert await store.enqueue(_request(version))  # queued and claimed in one commit
            claimed = await store.claim_next(worker_ids[version], timedelta(seconds=300), claimant)
            assert claimed is not None
            assert claimed.request.version == version

    second = build_service(settings, runner=runner)
    await second.start()
    try:

        async def taken_over() -> dict[int, tuple[BuildStatus, int]]:
            while True:
                async with transaction(second.sessions) as session:
                    store = BuildStore(session)
                    views = {v: await store.find("alice", "iris", v) for v in claimants}
                found = {v: (view.status, view.attempts) for v, view in views.items() if view}
                if found[7][0] is found[9][0] is BuildStatus.SUCCEEDED:
                    return found
                await asyncio.sleep(0.1)

        found = await asyncio.wait_for(taken_over(), SAFETY_TIMEOUT)
        await asyncio.sleep(0.5)  # every chance to (wrongly) take over the other two
        assert sorted(runner.calls) == ["alice/iris/7", "alice/iris/9"]
    finally:
        await second.stop()
        await neighbour.stop()
    assert found[7] == (BuildStatus.SUCCEEDED, 2)  # the dead claim counts as an attempt
    assert found[9] == (BuildStatus.SUCCEEDED, 2)
    assert found[8] == (BuildStatus.BUILDING, 1)  # its process lives: only the heartbeat decides
    assert found[10] == (BuildStatus.BUILDING, 1)  # another host: only the heartbeat decides
    assert found[11] == (BuildStatus.BUILDING, 1)  # its worker runs in this process


async def test_internal_api_reports_an_unknown_build_as_problem_json(harness: Harness) -> None:
    transport = httpx.ASGITransport(app=harness.service.app)
    signed = InternalAuth()
    async with httpx.AsyncClient(
        transport=transport, base_url="http://builder", auth=signed
    ) as client:
        missing = await client.get("/internal/builds/alice/iris/5")
        bad = await client.get("/internal/builds/alice/iris/zero")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/build-not-found")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_liveness_and_readiness_answer_200_when_the_worker_is_idle(harness: Harness) -> None:
    transport = httpx.ASGITransport(app=harness.service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://builder") as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["live"] is True
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
