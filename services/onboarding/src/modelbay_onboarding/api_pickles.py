"""Internal API of administrators' pickle allowances (pickle_allowances.py), for the gateway.

`GET|PUT /internal/pickle-allowances/{owner}/{name}` and
`DELETE /internal/pickle-allowances/{owner}/{name}/{global_name}`. Only an administrator (the
gateway's signed `X-Modelbay-Admin`) may read or change them; the gateway records each change in
its audit log.
"""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from modelbay_common.access import Caller
from modelbay_common.admin_dep import administrator
from modelbay_common.contracts.pickles import (
    PickleAllowanceEntry,
    PickleAllowanceRequest,
    PickleAllowances,
)
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.errors import NotFound

from modelbay_onboarding.names import check_model_name
from modelbay_onboarding.pickle_allowances import PickleAllowanceStore


def _sessions(request: Request) -> SessionFactory:
    sessions: SessionFactory = request.app.state.sessions
    return sessions


SessionsDep = Annotated[SessionFactory, Depends(_sessions)]


_administrator = administrator("read or change pickle allowances")


AdministratorDep = Annotated[Caller, Depends(_administrator)]

router = APIRouter()


async def _answer(sessions: SessionFactory, owner: str, name: str) -> PickleAllowances:
    async with transaction(sessions) as session:
        listed = await PickleAllowanceStore(session).listed(owner, name)
    return PickleAllowances(
        owner=owner,
        name=name,
        allowances=[
            PickleAllowanceEntry(
                global_name=item.global_name,
                allowed_by=item.allowed_by,
                reason=item.reason,
                created_at=item.created_at,
            )
            for item in listed
        ],
    )


@router.get(
    "/internal/pickle-allowances/{owner}/{name}",
    response_model=PickleAllowances,
    summary="The blocked pickle globals an administrator allowed for this model",
)
async def list_allowances(
    owner: str, name: str, sessions: SessionsDep, _admin: AdministratorDep
) -> PickleAllowances:
    check_model_name("owner", owner)
    check_model_name("name", name)
    return await _answer(sessions, owner, name)


@router.put(
    "/internal/pickle-allowances/{owner}/{name}",
    response_model=PickleAllowances,
    summary="Allow blocked pickle globals for this model's next uploads",
)
async def allow_globals(
    owner: str,
    name: str,
    body: PickleAllowanceRequest,
    sessions: SessionsDep,
    admin: AdministratorDep,
) -> PickleAllowances:
    check_model_name("owner", owner)
    check_model_name("name", name)
    assert admin.user is not None  # _administrator refuses an anonymous caller
    async with transaction(sessions) as session:
        await PickleAllowanceStore(session).allow(
            owner, name, sorted(set(body.globals)), allowed_by=admin.user, reason=body.reason
        )
    return await _answer(sessions, owner, name)


@router.delete(
    "/internal/pickle-allowances/{owner}/{name}/{global_name}",
    status_code=204,
    summary="Withdraw one allowance: later uploads importing that global are refused again",
)
async def revoke_allowance(
    owner: str, name: str, global_name: str, sessions: SessionsDep, _admin: AdministratorDep
) -> Response:
    check_model_name("owner", owner)
    check_model_name("name", name)
    async with transaction(sessions) as session:
        removed = await PickleAllowanceStore(session).revoke(owner, name, global_name)
    if not removed:
        raise NotFound(f"{owner}/{name} has no allowance for {global_name!r}")
    return Response(status_code=204)
