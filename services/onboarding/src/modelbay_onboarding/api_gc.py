"""`POST /internal/gc`: onboarding's artifact garbage collection (gc.py), for the gateway's
`POST /v1/admin/gc` only — an administrator's signed headers are required."""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from modelbay_common.access import Caller
from modelbay_common.admin_dep import administrator
from modelbay_common.contracts.gc import GcReport, GcRequest
from modelbay_common.db import SessionFactory, transaction

from modelbay_onboarding.gc import collect_garbage
from modelbay_onboarding.service import UploadService

router = APIRouter()


_administrator = administrator("run the artifact garbage collector")


@router.post(
    "/internal/gc",
    response_model=GcReport,
    summary="Reclaim bundles, wheelhouses and .deb archives only dead versions reference",
)
async def collect(
    body: GcRequest, request: Request, _admin: Annotated[Caller, Depends(_administrator)]
) -> GcReport:
    sessions: SessionFactory = request.app.state.sessions
    uploads: UploadService = request.app.state.uploads
    async with transaction(sessions) as session:
        return await collect_garbage(uploads.blob_store, session, body, now=datetime.now(tz=UTC))
