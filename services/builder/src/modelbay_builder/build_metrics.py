"""The builder's Prometheus series (names in `modelbay_common.metrics`, meaning in
docs/operations.md): build and validation durations, dependency-layer cache hits, builds per
outcome, and the scrape-time read of the queue by status; and its part of the operator's view
(`builds_in_flight`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from modelbay_common.db import SessionFactory
from modelbay_common.host_status import StatusExtra
from modelbay_common.metrics import platform_metrics
from sqlalchemy import func, select

from modelbay_builder.errors import ImageValidationFailed
from modelbay_builder.orm import BuildRow
from modelbay_builder.records import FINAL_STATUSES, BuildResult, BuildStatus

UNFINISHED_STATUSES = tuple(status for status in BuildStatus if status not in FINAL_STATUSES)


def observe_built(result: BuildResult) -> None:
    metrics = platform_metrics()
    metrics.build_duration.labels("built").observe(result.build_seconds)
    metrics.validation_duration.observe(result.validation_seconds)
    cache = "hit" if result.dependency_layer_cached else "miss"
    metrics.dependency_layer_cache.labels(cache).inc()
    metrics.builds_finished.labels("ready").inc()


def observe_failed(failure: Exception) -> None:
    outcome = "validation_failed" if isinstance(failure, ImageValidationFailed) else "build_failed"
    platform_metrics().builds_finished.labels(outcome).inc()


def queue_probe(sessions: SessionFactory) -> Callable[[], Awaitable[None]]:
    """`modelbay_builder_builds{status}` for unfinished statuses; finished rows are history and
    grow without bound, so they are not counted (the partial index covers this query)."""
    gauge = platform_metrics().build_queue
    unfinished = [status.value for status in UNFINISHED_STATUSES]

    async def probe() -> None:
        query = (
            select(BuildRow.status, func.count())
            .where(BuildRow.status.in_(unfinished))
            .group_by(BuildRow.status)
        )
        async with sessions() as session:
            counts = {row[0]: row[1] for row in await session.execute(query)}
        for status in unfinished:
            gauge.labels(status).set(counts.get(status, 0))

    return probe


def builds_in_flight(sessions: SessionFactory, stale_seconds: float) -> StatusExtra:
    """The builder's part of the operator's view: unfinished builds by status, and the oldest
    one with why it may be stuck (queued and not claimed, or a claim whose heartbeat stopped)."""
    unfinished = [status.value for status in UNFINISHED_STATUSES]

    async def extra() -> dict[str, Any]:
        counts_query = (
            select(BuildRow.status, func.count())
            .where(BuildRow.status.in_(unfinished))
            .group_by(BuildRow.status)
        )
        oldest_query = (
            select(BuildRow)
            .where(BuildRow.status.in_(unfinished))
            .order_by(BuildRow.queued_at)
            .limit(1)
        )
        async with sessions() as session:
            counts = {row[0]: row[1] for row in await session.execute(counts_query)}
            oldest = await session.scalar(oldest_query)
        return {
            "builds_in_flight": {status: counts.get(status, 0) for status in unfinished},
            "oldest_stuck": None if oldest is None else _stuck(oldest, stale_seconds),
        }

    return extra


def _stuck(row: BuildRow, stale_seconds: float) -> dict[str, Any]:
    now = datetime.now(UTC)
    waited = (now - row.queued_at).total_seconds()
    subject = f"{row.owner}/{row.name}:{row.version}"
    if row.status == BuildStatus.QUEUED.value:
        reason = f"queued {waited:.0f} s ago, not claimed by any builder yet"
    elif row.heartbeat_at is None:
        reason = f"{row.status} with no heartbeat recorded"
    else:
        silent = (now - row.heartbeat_at).total_seconds()
        reason = f"{row.status}, last heartbeat {silent:.0f} s ago" + (
            f" (stale after {stale_seconds:.0f} s: it will be taken over)"
            if silent > stale_seconds
            else ""
        )
    return {
        "item": f"build {subject}",
        "status": row.status,
        "attempts": row.attempts,
        "waiting_seconds": round(waited, 1),
        "reason": reason,
    }
