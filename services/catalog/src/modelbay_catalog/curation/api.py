"""Internal routes of aliases and publish requests (docs/catalog.md, "Aliases", "Publish
approval"). Same style as the catalog's `api.py`, whose typed dependencies they use."""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from modelbay_common.contracts.curation import (
    Alias,
    AliasBody,
    AliasList,
    DecisionBody,
    PublishRequest,
    PublishRequestPage,
)
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.api import CallerDep, SessionDep
from modelbay_catalog.curation import service
from modelbay_catalog.curation.schemas import alias_out, request_out
from modelbay_catalog.curation.service import RequestFilter, Stores
from modelbay_catalog.curation.store import CurationStore
from modelbay_catalog.federation.origins import ensure_writable
from modelbay_catalog.store import CatalogStore

ALIASES = "/internal/models/{owner}/{name}/aliases"
REQUESTS = "/internal/publish-requests"

AliasName = Annotated[str, Path(max_length=100, description="e.g. `stable`; `latest` is automatic")]
RequestId = Annotated[int, Path(ge=1, le=2**63 - 1)]

router = APIRouter(tags=["curation"])


def _stores(session: AsyncSession) -> Stores:
    return Stores(CatalogStore(session), CurationStore(session))


@router.get(ALIASES, response_model=AliasList)
async def aliases(session: SessionDep, caller: CallerDep, owner: str, name: str) -> AliasList:
    model, found = await service.list_aliases(_stores(session), caller, owner, name)
    return AliasList(owner=model.owner, name=model.name, aliases=[alias_out(a) for a in found])


@router.get(ALIASES + "/{alias}", response_model=Alias)
async def resolve(
    session: SessionDep, caller: CallerDep, owner: str, name: str, alias: AliasName
) -> Alias:
    return alias_out(await service.resolve_alias(_stores(session), caller, owner, name, alias))


@router.put(ALIASES + "/{alias}", response_model=Alias)
async def move(
    session: SessionDep,
    caller: CallerDep,
    owner: str,
    name: str,
    alias: AliasName,
    body: AliasBody,
) -> Alias:
    await ensure_writable(session, owner, name)  # a mirror is read-only here
    moved = await service.move_alias(_stores(session), caller, owner, name, alias, body.version)
    return alias_out(moved)


@router.delete(ALIASES + "/{alias}", status_code=204, response_class=Response)
async def remove(
    session: SessionDep, caller: CallerDep, owner: str, name: str, alias: AliasName
) -> Response:
    await ensure_writable(session, owner, name)  # a mirror is read-only here
    await service.remove_alias(_stores(session), caller, owner, name, alias)
    return Response(status_code=204)


@router.get(REQUESTS, response_model=PublishRequestPage)
async def requests(
    session: SessionDep,
    caller: CallerDep,
    status: Literal["pending", "approved", "declined", "all"] = "pending",
    owner: Annotated[str | None, Query(max_length=100)] = None,
    name: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> PublishRequestPage:
    wanted = RequestFilter(status=None if status == "all" else status, owner=owner, name=name)
    found = await service.list_requests(_stores(session), caller, wanted, limit)
    return PublishRequestPage(items=[request_out(record) for record in found])


@router.get(REQUESTS + "/{request_id}", response_model=PublishRequest)
async def request(session: SessionDep, caller: CallerDep, request_id: RequestId) -> PublishRequest:
    return request_out(await service.find_request(_stores(session), caller, request_id))


@router.post(REQUESTS + "/{request_id}/approve", response_model=PublishRequest)
async def approve(
    session: SessionDep, caller: CallerDep, request_id: RequestId, body: DecisionBody
) -> PublishRequest:
    decided = await service.approve(_stores(session), caller, request_id, body.comment)
    return request_out(decided)


@router.post(REQUESTS + "/{request_id}/decline", response_model=PublishRequest)
async def decline(
    session: SessionDep, caller: CallerDep, request_id: RequestId, body: DecisionBody
) -> PublishRequest:
    decided = await service.decline(_stores(session), caller, request_id, body.comment)
    return request_out(decided)
