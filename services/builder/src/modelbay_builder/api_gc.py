"""`POST /internal/gc`: the builder's artifact garbage collection (gc.py), for the gateway's
`POST /v1/admin/gc` only — an administrator's signed headers are required."""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from modelbay_common.access import Caller
from modelbay_common.admin_dep import administrator
from modelbay_common.contracts.gc import GcReport, GcRequest
from modelbay_common.db import SessionFactory, transaction

from modelbay_builder.gc import SERVICE, ImageCollector

router = APIRouter()


_administrator = administrator("run the artifact garbage collector")


@router.post(
    "/internal/gc",
    response_model=GcReport,
    summary="Delete the registry manifests only dead versions reference",
)
async def collect(
    body: GcRequest, request: Request, _admin: Annotated[Caller, Depends(_administrator)]
) -> GcReport:
    collector: ImageCollector | None = request.app.state.image_gc
    if collector is None:  # no registry (local-process mode): no images to reclaim
        return GcReport(service=SERVICE, dry_run=body.dry_run, reclaimed=[], kept_young=0)
    sessions: SessionFactory = request.app.state.sessions
    async with transaction(sessions) as session:
        return await collector.collect(session, body, now=datetime.now(tz=UTC))
