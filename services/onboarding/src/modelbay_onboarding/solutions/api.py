"""`POST /internal/solutions/{owner}/{name}`: a solution pushed through the gateway.

The body is a `SolutionSubmission` (modelbay_common.contracts.solutions): the document and the
catalog's facts about each node's version, gathered by the gateway as the pusher. Answers like a
bundle upload (`UploadAccepted`): the solution is a version in the models' pipeline from here.
"""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from modelbay_common.access import (
    ADMIN_HEADER,
    ORG_HEADER,
    USER_HEADER,
    InvalidCallerHeaderError,
    caller_from_headers,
)
from modelbay_common.contracts.solutions import SolutionSubmission
from modelbay_common.db import SessionFactory
from modelbay_common.errors import BadRequest

from modelbay_onboarding.names import check_model_name
from modelbay_onboarding.schemas import UploadAccepted
from modelbay_onboarding.service import signed_in_user
from modelbay_onboarding.solutions.service import SolutionService


def _solutions(request: Request) -> SolutionService:
    solutions: SolutionService = request.app.state.solutions
    return solutions


def _sessions(request: Request) -> SessionFactory:
    sessions: SessionFactory = request.app.state.sessions
    return sessions


SolutionsDep = Annotated[SolutionService, Depends(_solutions)]
SessionsDep = Annotated[SessionFactory, Depends(_sessions)]

router = APIRouter()


@router.post(
    "/internal/solutions/{owner}/{name}",
    status_code=202,
    response_model=UploadAccepted,
    summary="Check a solution against its nodes and accept it as the next version",
)
async def accept_solution(
    owner: str,
    name: str,
    submission: SolutionSubmission,
    solutions: SolutionsDep,
    sessions: SessionsDep,
    x_modelbay_user: Annotated[str | None, Header()] = None,
    x_modelbay_org: Annotated[str | None, Header()] = None,
    x_modelbay_admin: Annotated[str | None, Header()] = None,
) -> UploadAccepted:
    sent = {
        USER_HEADER: x_modelbay_user,
        ORG_HEADER: x_modelbay_org,
        ADMIN_HEADER: x_modelbay_admin,
    }
    try:
        caller = caller_from_headers({key: value for key, value in sent.items() if value})
    except InvalidCallerHeaderError as exc:
        raise BadRequest(str(exc)) from None
    signed_in_user(caller)
    check_model_name("owner", owner)
    check_model_name("name", name)
    accepted = await solutions.accept(
        sessions, owner=owner, name=name, caller=caller, submission=submission
    )
    return UploadAccepted(
        owner=accepted.owner,
        name=accepted.name,
        version=accepted.version,
        upload_id=accepted.upload_id,
        bundle_sha256=accepted.bundle_sha256,
        warnings=list(accepted.warnings),
    )
