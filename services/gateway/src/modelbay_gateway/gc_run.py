"""One run of the artifact garbage collector, and its daily schedule (docs/operations.md,
"Artifact garbage collection").

The gateway only conducts: it asks the catalog which versions are dead and what live versions
reference (`GET /internal/gc/marks`), then hands that to the services that own artifacts —
onboarding (bundles, wheelhouses, ELF scans, `.deb` archives) and the builder (registry
manifests) — which mark and sweep their own (`POST /internal/gc`). Each run is audited
(`admin.gc` or `admin.gc_dry_run`) and, when it deletes, counted in `modelbay_gc_*`.

Several gateway replicas each run the schedule; that is harmless (deletes are idempotent, a
manifest already gone is skipped), only repeated work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal

from modelbay_common.access import Caller
from modelbay_common.contracts.gc import ArtifactGcKind, GcMarks, GcReport, GcRequest
from modelbay_common.db import transaction
from modelbay_common.metrics import platform_metrics
from pydantic import BaseModel, Field

from modelbay_gateway.audit import AuditLog
from modelbay_gateway.context import GatewayContext
from modelbay_gateway.upstream import BUILDER, CATALOG, ONBOARDING, parsed

log = logging.getLogger(__name__)

MARKS_PATH = "/internal/gc/marks"
SWEEP_PATH = "/internal/gc"
OWNING_SERVICES = (ONBOARDING, BUILDER)
# Who the schedule acts as towards the internal services (an administrator, by definition).
SCHEDULE_CALLER = Caller(user="modelbay-gc", admin=True)
Trigger = Literal["admin", "schedule"]


class KindTotal(BaseModel):
    objects: int = 0
    bytes: int = 0


class GcRunOut(BaseModel):
    """What a run reclaimed (a dry run: what it would reclaim), per service and in total."""

    dry_run: bool
    grace_seconds: int
    dead_versions: int = Field(description="versions failed or of deleted models")
    bytes_reclaimed: int
    by_kind: dict[ArtifactGcKind, KindTotal]
    reports: list[GcReport]


def _totals(reports: list[GcReport]) -> dict[ArtifactGcKind, KindTotal]:
    totals: dict[ArtifactGcKind, KindTotal] = {}
    for report in reports:
        for item in report.reclaimed:
            total = totals.setdefault(item.kind, KindTotal())
            total.objects += 1
            total.bytes += item.size
    return totals


async def run_gc(
    context: GatewayContext, caller: Caller, *, actor: str, dry_run: bool, trigger: Trigger
) -> GcRunOut:
    """Mark (the catalog), sweep (each owner), audit, count. Upstream problems propagate."""
    upstreams = context.upstreams
    try:
        marks_answer = await upstreams.request(CATALOG, "GET", MARKS_PATH, caller)
        marks = parsed(marks_answer, CATALOG, GcMarks)
        grace = context.settings.gc_grace_seconds
        body = GcRequest(**marks.model_dump(), dry_run=dry_run, grace_seconds=grace)
        reports = []
        for service in OWNING_SERVICES:
            answer = await upstreams.request(
                service, "POST", SWEEP_PATH, caller, json=body.model_dump(mode="json")
            )
            reports.append(parsed(answer, service, GcReport))
    except Exception:
        platform_metrics().gc_runs.labels(trigger, "failed").inc()
        raise
    totals = _totals(reports)
    run = GcRunOut(
        dry_run=dry_run,
        grace_seconds=grace,
        dead_versions=len(marks.dead),
        bytes_reclaimed=sum(total.bytes for total in totals.values()),
        by_kind=totals,
        reports=reports,
    )
    metrics = platform_metrics()
    metrics.gc_runs.labels(trigger, "ok").inc()
    if not dry_run:
        for kind, total in totals.items():
            metrics.gc_reclaimed_bytes.labels(kind).inc(total.bytes)
            metrics.gc_reclaimed_objects.labels(kind).inc(total.objects)
    async with transaction(context.sessions) as session:
        await AuditLog(session).record(
            actor,
            "admin.gc_dry_run" if dry_run else "admin.gc",
            "artifacts",
            {
                "trigger": trigger,
                "dead_versions": run.dead_versions,
                "bytes": run.bytes_reclaimed,
                "by_kind": {kind: total.model_dump() for kind, total in totals.items()},
                "errors": [error for report in reports for error in report.errors],
            },
        )
    return run


class GcSchedule:
    """Runs the collector every `gc_interval_seconds` (0: never); the first run waits one
    interval, so a restart loop never turns into a deletion loop."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._context.settings.gc_interval_seconds > 0:
            self._task = asyncio.create_task(self._loop(), name="artifact-gc")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        interval = self._context.settings.gc_interval_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                run = await run_gc(
                    self._context,
                    SCHEDULE_CALLER,
                    actor=SCHEDULE_CALLER.user or "modelbay-gc",
                    dry_run=False,
                    trigger="schedule",
                )
                log.info("scheduled gc: %d bytes reclaimed", run.bytes_reclaimed)
            except Exception:  # the next interval tries again; the failure is counted
                log.exception("scheduled artifact garbage collection failed")
