"""The builder's liveness rules (liveness.py) and a claim loop that outlives its database."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from modelbay_builder.build_log import BuildLog
from modelbay_builder.claimant import process_is_gone, this_process
from modelbay_builder.liveness import WorkerHealth
from modelbay_builder.records import BuildRequest, BuildResult
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.worker import BuildWorker, StageCallback

WINDOW = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def health(clock: Clock) -> WorkerHealth:
    health = WorkerHealth(WINDOW, clock=clock)
    health.started()
    return health


def live(health: WorkerHealth, *, running: int = 0, loop_running: bool = True) -> bool:
    return health.assess(loop_running=loop_running, running_builds=running, capacity=2).live


def test_a_worker_that_never_started_is_not_live(clock: Clock) -> None:
    verdict = WorkerHealth(WINDOW, clock=clock).assess(
        loop_running=False, running_builds=0, capacity=2
    )
    assert not verdict.live
    assert verdict.reason == "the build worker is not started"


def test_idle_with_nothing_queued_is_live_while_claim_queries_succeed(
    health: WorkerHealth, clock: Clock
) -> None:
    for _ in range(5):
        clock.now += WINDOW / 2
        health.loop_ticked()
        health.claim_query_succeeded()
        verdict = health.assess(loop_running=True, running_builds=0, capacity=2)
        assert verdict.live
        assert verdict.reason == "idle: nothing queued"


def test_free_slots_without_a_successful_claim_query_is_a_wedge(
    health: WorkerHealth, clock: Clock
) -> None:
    """The issue's wedge: the loop goes round, but never asks for work although it could."""
    health.claim_query_succeeded()
    for _ in range(3):
        clock.now += WINDOW / 2
        health.loop_ticked()
    verdict = health.assess(loop_running=True, running_builds=1, capacity=2)
    assert not verdict.live
    assert "no successful claim query" in verdict.reason


def test_busy_with_every_slot_taken_needs_no_claim_query(
    health: WorkerHealth, clock: Clock
) -> None:
    health.claim_query_succeeded()
    clock.now += WINDOW * 3
    health.loop_ticked()
    health.database_succeeded()  # heartbeats
    assert live(health, running=2)


def test_a_loop_that_stopped_going_round_is_not_live(health: WorkerHealth, clock: Clock) -> None:
    clock.now += WINDOW + 1
    assert not live(health, running=2)
    assert not live(health, loop_running=False)


def test_an_outage_longer_than_the_window_is_not_live_and_is_logged_once(
    health: WorkerHealth, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="modelbay_builder.worker")
    health.claim_query_succeeded()
    for _ in range(30):
        clock.now += 1.0
        health.loop_ticked()
        health.database_failed("claiming builds", ConnectionRefusedError(111, "refused"))
    verdict = health.assess(loop_running=True, running_builds=0, capacity=2)
    assert not verdict.live
    assert verdict.database_failing_for_seconds == 29.0
    clock.now += 1.0
    health.claim_query_succeeded()
    assert live(health)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "claiming builds" in errors[0].getMessage()
    recovered = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert recovered == [
        "the database answers again after 30.0 s (30 operations failed meanwhile); "
        "the builder carries on"
    ]


def test_an_outage_shorter_than_the_window_keeps_the_worker_live(
    health: WorkerHealth, clock: Clock
) -> None:
    health.claim_query_succeeded()
    clock.now += 1.0
    health.database_failed("heart-beating a build", OSError("reset"))
    clock.now += WINDOW / 2
    health.loop_ticked()
    assert live(health, running=2)


async def test_a_vital_task_that_dies_makes_the_worker_not_live(
    health: WorkerHealth, caplog: pytest.LogCaptureFixture
) -> None:
    async def dies() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(dies(), name="builder-claim-loop")
    health.watch(task, vital=True)
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)  # done callbacks run on the next loop iteration
    verdict = health.assess(loop_running=True, running_builds=0, capacity=2)
    assert not verdict.live
    assert "builder-claim-loop ended: RuntimeError: boom" in verdict.reason
    assert any(
        "background task builder-claim-loop failed" in r.getMessage() for r in caplog.records
    )


class NeverCalledRunner:
    async def run(
        self, request: BuildRequest, log: BuildLog, on_stage: StageCallback
    ) -> BuildResult:
        raise AssertionError("nothing can be claimed from a database that never answers")


def unreachable_database() -> Any:
    raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")


async def test_the_claim_loop_outlives_a_database_that_never_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="modelbay_builder.worker")
    settings = BuilderSettings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        bus_url="memory://",
        blob_url=tmp_path.as_uri(),
        worker_poll_seconds=0.01,
    )
    worker = BuildWorker(unreachable_database, NeverCalledRunner(), settings)  # type: ignore[arg-type]
    worker.health = WorkerHealth(window_seconds=0.05)
    await worker.start()
    try:

        async def retried_and_declared_dead() -> None:
            # Polling the log and the verdict of a fake: nothing to wait on as an Event.
            while (  # noqa: ASYNC110
                sum("still failing" in r.getMessage() for r in caplog.records) < 3
                or worker.liveness().live
            ):
                await asyncio.sleep(0.01)

        await asyncio.wait_for(retried_and_declared_dead(), 30)
        verdict = worker.liveness()
        assert "database operations have failed" in verdict.reason
        assert worker.running == 0
    finally:
        await worker.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1  # once per outage, not once per attempt
    assert "ConnectionRefusedError" in errors[0].getMessage()


def test_this_process_is_alive_and_an_exited_child_is_gone() -> None:
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    assert process_is_gone(child.pid)
    assert not process_is_gone(this_process().pid)
