"""The builder's Prometheus series (names in `modelbay_common.metrics`, meaning in
docs/operations.md): build and validation durations, dependency-layer cache hits, builds per
outcome, and the scrape-time read of the queue by status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from modelbay_common.db import SessionFactory
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
            counts = dict((await session.execute(query)).tuples().all())
        for status in unfinished:
            gauge.labels(status).set(counts.get(status, 0))

    return probe
