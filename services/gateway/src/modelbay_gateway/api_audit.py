"""Administrator routes: the audit log, and pickle allowances (recorded in the audit log).

    GET    /v1/admin/audit?actor=&action=&since=&cursor=&limit=   newest first, keyset pages
    GET    /v1/admin/models/{owner}/{name}/pickle-allowances
    PUT    /v1/admin/models/{owner}/{name}/pickle-allowances        allow blocked globals
    DELETE /v1/admin/models/{owner}/{name}/pickle-allowances/{global_name}

Administrators only (403 otherwise). The allowances live in onboarding, which applies them at
upload (docs/trust.md, "Pickle scanning"); the gateway records each change after onboarding
confirmed it.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from modelbay_common.contracts.pickles import (
    GLOBAL_NAME_PATTERN,
    PickleAllowanceRequest,
    PickleAllowances,
)
from modelbay_common.db import transaction
from pydantic import BaseModel, Field

from modelbay_gateway.audit import AuditLog, AuditQuery
from modelbay_gateway.auth import SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.errors import AdminRequired
from modelbay_gateway.records import Principal
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.upstream import ONBOARDING, model_path, parsed, raise_for_upstream
from modelbay_gateway.webhooks import as_utc

router = APIRouter(prefix="/v1/admin", tags=["admin"])

MAX_PAGE = 500
# Postgres text cannot hold NUL: such a filter is the caller's mistake (422), never a 500.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"
ModelPart = Annotated[str, Path(min_length=1, max_length=200)]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="the user who acted")
    action: str = Field(description="e.g. `token.created`, `model.published`, `pickle.allowed`")
    target: str = Field(description="what was acted on: `owner/name[/version]`, `token:<id>`, ...")
    details: dict[str, Any]
    event_id: str | None = Field(description="the event it was recorded from, if any")


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next (older) page; null on the last page"
    )


def _require_admin(principal: Principal, action: str) -> None:
    if not principal.user.is_admin:
        raise AdminRequired(action)


@router.get("/audit", response_model=AuditPageOut)
async def audit_log(
    principal: SignedIn,
    context: ContextDep,
    actor: Annotated[
        str | None, Query(max_length=200, pattern=NO_CONTROL_CHARACTERS, description="who acted")
    ] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=NO_CONTROL_CHARACTERS,
            description="an action, or a prefix ending in '.' (`token.`)",
        ),
    ] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; entries at or after")] = None,
    cursor: Annotated[
        str | None, Query(pattern=r"^[1-9][0-9]{0,18}$", description="from `next_cursor`")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> AuditPageOut:
    """Audited actions, newest first: publish and visibility, tokens, users, organisations,
    pickle allowances."""
    _require_admin(principal, "read the audit log")
    query = AuditQuery(
        actor=actor,
        action=action,
        since=as_utc(since),
        before_id=int(cursor) if cursor else None,
        limit=limit + 1,  # one more than shown tells whether there is a next page
    )
    async with transaction(context.sessions) as session:
        found = await AuditLog(session).page(query)
    shown = found[:limit]
    return AuditPageOut(
        entries=[AuditEntryOut(**vars(entry)) for entry in shown],
        next_cursor=str(shown[-1].id) if len(found) > limit else None,
    )


def _allowances_path(owner: str, name: str) -> str:
    return f"/internal/pickle-allowances/{model_path(owner, name)}"


@router.get("/models/{owner}/{name}/pickle-allowances", response_model=PickleAllowances)
async def pickle_allowances(
    principal: SignedIn, context: ContextDep, owner: ModelPart, name: ModelPart
) -> PickleAllowances:
    """The blocked pickle globals allowed for this model's uploads."""
    _require_admin(principal, "read pickle allowances")
    response = await context.upstreams.request(
        ONBOARDING, "GET", _allowances_path(owner, name), caller_of(principal)
    )
    return parsed(response, ONBOARDING, PickleAllowances)


@router.put("/models/{owner}/{name}/pickle-allowances", response_model=PickleAllowances)
async def allow_pickle_globals(
    principal: SignedIn,
    context: ContextDep,
    owner: ModelPart,
    name: ModelPart,
    body: PickleAllowanceRequest,
) -> PickleAllowances:
    """Allow blocked globals (`builtins.eval`, ...) for this model's next uploads, after reading
    its code; they are listed as `allowed` in each version's `pickle_scan`. Audited."""
    _require_admin(principal, "allow pickle globals")
    response = await context.upstreams.request(
        ONBOARDING,
        "PUT",
        _allowances_path(owner, name),
        caller_of(principal),
        json=body.model_dump(mode="json"),
    )
    answer = parsed(response, ONBOARDING, PickleAllowances)
    async with transaction(context.sessions) as session:
        await AuditLog(session).record(
            principal.user.username,
            "pickle.allowed",
            f"{owner}/{name}",
            {"globals": sorted(set(body.globals)), "reason": body.reason},
        )
    return answer


@router.delete(
    "/models/{owner}/{name}/pickle-allowances/{global_name}",
    status_code=204,
    response_class=Response,
)
async def revoke_pickle_allowance(
    principal: SignedIn,
    context: ContextDep,
    owner: ModelPart,
    name: ModelPart,
    # The scan's own spelling only: a control character in it was a 500 (an invalid
    # URL towards onboarding), found by the abuse suite's fuzzing.
    global_name: Annotated[str, Path(min_length=3, max_length=300, pattern=GLOBAL_NAME_PATTERN)],
) -> Response:
    """Withdraw one allowance: later uploads importing that global are refused again. Audited."""
    _require_admin(principal, "withdraw pickle allowances")
    path = f"{_allowances_path(owner, name)}/{quote(global_name, safe='')}"
    response = await context.upstreams.request(ONBOARDING, "DELETE", path, caller_of(principal))
    raise_for_upstream(response, ONBOARDING)
    async with transaction(context.sessions) as session:
        await AuditLog(session).record(
            principal.user.username,
            "pickle.allowance_revoked",
            f"{owner}/{name}",
            {"global": global_name},
        )
    return Response(status_code=204)
