"""`POST /internal/gc`: onboarding's artifact garbage collection (gc.py), for the gateway's
`POST /v1/admin/gc` only — an administrator's signed headers are required."""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from modelbay_common.access import (
    ADMIN_HEADER,
    USER_HEADER,
    Caller,
    InvalidCallerHeaderError,
    caller_from_headers,
)
from modelbay_common.contracts.gc import GcReport, GcRequest
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.errors import BadRequest, Forbidden

from modelbay_onboarding.gc import collect_garbage
from modelbay_onboarding.service import UploadService

router = APIRouter()


def _administrator(
    x_modelbay_user: Annotated[str | None, Header()] = None,
    x_modelbay_admin: Annotated[str | None, Header()] = None,
) -> Caller:
    sent = {USER_HEADER: x_modelbay_user, ADMIN_HEADER: x_modelbay_admin}
    try:
        caller = caller_from_headers({key: value for key, value in sent.items() if value})
    except InvalidCallerHeaderError as exc:
        raise BadRequest(str(exc)) from None
    if not caller.admin or caller.user is None:
        raise Forbidden("only an administrator may run the artifact garbage collector")
    return caller


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
