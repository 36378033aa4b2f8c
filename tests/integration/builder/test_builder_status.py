"""Issue 15: the builder's part of the operator's view on a real database: builds in flight by
status, and the oldest one with why it may be stuck (queued and not claimed; a claim whose
heartbeat stopped), as `GET /v1/admin/status` shows them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from modelbay_builder.build_metrics import builds_in_flight, queue_probe
from modelbay_builder.orm import SCHEMA, BuildRow
from modelbay_builder.records import BuildRequest
from modelbay_builder.store import BuildStore
from modelbay_common.db import create_engine, session_factory, transaction
from modelbay_common.events import DependenciesResolved
from modelbay_common.metrics import platform_metrics
from modelbay_common.migrations import upgrade
from sqlalchemy import update


def resolved(version: int) -> DependenciesResolved:
    return DependenciesResolved(
        owner="alice",
        name="iris",
        version=version,
        bundle_uri="bundles/sha256/" + "a" * 64 + ".tar.gz",
        bundle_sha256="a" * 64,
        python_version="3.11",
        lock=("numpy==2.0.0",),
        lock_hash="f" * 64,
        wheelhouse_uri="wheelhouses/" + "f" * 64 + ".tar",
    )


async def test_builds_in_flight_and_the_oldest_stuck_build(fresh_database_url: str) -> None:
    await upgrade(SCHEMA, fresh_database_url)
    engine = create_engine(fresh_database_url)
    sessions = session_factory(engine)
    try:
        extra = builds_in_flight(sessions, stale_seconds=60)
        empty = await extra()
        assert empty["oldest_stuck"] is None
        assert set(empty["builds_in_flight"].values()) == {0}

        async with transaction(sessions) as session:
            for version in (1, 2):
                assert await BuildStore(session).enqueue(BuildRequest.from_event(resolved(version)))
        view = await extra()
        assert view["builds_in_flight"]["queued"] == 2
        stuck = view["oldest_stuck"]
        assert stuck["item"] in {"build alice/iris:1", "build alice/iris:2"}  # queued together
        assert "not claimed by any builder yet" in stuck["reason"]

        # A claimed build whose heartbeat stopped five minutes ago: the reason says so.
        silent_since = datetime.now(UTC) - timedelta(minutes=5)
        async with transaction(sessions) as session:
            await session.execute(
                update(BuildRow)
                .where(BuildRow.version == 1)
                .values(
                    status="building",
                    heartbeat_at=silent_since,
                    queued_at=silent_since - timedelta(minutes=1),
                )
            )
        stuck = (await extra())["oldest_stuck"]
        assert stuck["item"] == "build alice/iris:1"
        assert stuck["status"] == "building"
        assert re.search(r"last heartbeat 3\d\d s ago", stuck["reason"]), stuck["reason"]
        assert "it will be taken over" in stuck["reason"]

        await queue_probe(sessions)()
        gauge = platform_metrics().build_queue
        assert gauge.labels("queued")._value.get() == 1
        assert gauge.labels("building")._value.get() == 1
    finally:
        await engine.dispose()
