"""Internal routes of federation (docs/federation.md), called by the gateway (and, for the
credentials, by the builder). Same style as the catalog's `api.py`, whose typed dependencies
they use; every route is behind the catalog's signed internal auth like the others."""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from typing import Annotated, cast

import httpx
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from modelbay_common.contracts.federation import (
    ChangesPage,
    PeerBody,
    PeerCredentials,
    PeerList,
    PeerOut,
    PeerUpdateBody,
    SyncOutcome,
)
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.api import CallerDep, SessionDep, SettingsDep
from modelbay_catalog.federation import service
from modelbay_catalog.federation.feed import changes_page
from modelbay_catalog.federation.origins import ensure_writable
from modelbay_catalog.federation.store import FederationStore
from modelbay_catalog.federation.sync import SyncPolicy
from modelbay_catalog.settings import CatalogSettings
from modelbay_catalog.store import CatalogStore

PEERS = "/internal/federation/peers"
PeerName = Annotated[str, Path(min_length=1, max_length=40, description="the peer's name here")]

router = APIRouter(tags=["federation"])


def _http(request: Request) -> httpx.AsyncClient:
    return cast(httpx.AsyncClient, request.app.state.federation_http)


HttpDep = Annotated[httpx.AsyncClient, Depends(_http)]


def sync_policy(settings: CatalogSettings) -> SyncPolicy:
    return SyncPolicy(
        interval_seconds=settings.federation_sync_seconds,
        retry_base_seconds=settings.federation_retry_base_seconds,
        retry_max_seconds=settings.federation_retry_max_seconds,
        page_limit=settings.federation_page_limit,
    )


def _federation(session: AsyncSession) -> FederationStore:
    return FederationStore(session)


@router.get("/internal/federation/changes", response_model=ChangesPage)
async def changes(
    session: SessionDep,
    after: Annotated[str, Query(max_length=20, description="a `next_cursor`; 0: the start")] = "0",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ChangesPage:
    """Public ready versions and withdrawals after `after` (only public models: anyone signed
    in on the gateway may read them, like the models themselves)."""
    return await changes_page(CatalogStore(session), after, limit)


@router.get(PEERS, response_model=PeerList)
async def peers(session: SessionDep, caller: CallerDep) -> PeerList:
    return PeerList(items=await service.list_peers(_federation(session), caller))


@router.post(PEERS, response_model=PeerOut, status_code=201)
async def register(
    session: SessionDep, caller: CallerDep, http: HttpDep, body: PeerBody
) -> PeerOut:
    return await service.register_peer(_federation(session), http, caller, body)


@router.get(PEERS + "/{peer}", response_model=PeerOut)
async def peer(session: SessionDep, caller: CallerDep, peer: PeerName) -> PeerOut:
    return await service.show_peer(_federation(session), caller, peer)


@router.patch(PEERS + "/{peer}", response_model=PeerOut)
async def update(
    session: SessionDep, caller: CallerDep, peer: PeerName, body: PeerUpdateBody
) -> PeerOut:
    return await service.update_peer(_federation(session), caller, peer, body)


@router.delete(PEERS + "/{peer}", status_code=204, response_class=Response)
async def remove(session: SessionDep, caller: CallerDep, peer: PeerName) -> Response:
    await service.remove_peer(_federation(session), caller, peer)
    return Response(status_code=204)


@router.post(PEERS + "/{peer}/refresh-keys", response_model=PeerOut)
async def refresh_keys(
    session: SessionDep, caller: CallerDep, http: HttpDep, peer: PeerName
) -> PeerOut:
    return await service.refresh_keys(_federation(session), http, caller, peer)


@router.post(PEERS + "/{peer}/sync", response_model=SyncOutcome)
async def sync(
    session: SessionDep, caller: CallerDep, http: HttpDep, settings: SettingsDep, peer: PeerName
) -> SyncOutcome:
    """Sync now (waits for it); a peer that did not answer is an outcome with `error`."""
    policy = sync_policy(settings)
    return await service.sync_now(CatalogStore(session), http, caller, peer, policy)


@router.get(PEERS + "/{peer}/credentials", response_model=PeerCredentials)
async def credentials(session: SessionDep, peer: PeerName) -> PeerCredentials:
    """The peer's URL and token, for the builder's copy (never on the bus, never public)."""
    return await service.credentials(_federation(session), peer)


@router.get("/internal/federation/writable/{owner}/{name}", status_code=204)
async def writable(session: SessionDep, owner: str, name: str) -> Response:
    """204 when `owner/name` may be changed or pushed to here; 409 `model-is-mirrored` when it
    is a read-only mirror of a peer's model."""
    await ensure_writable(session, owner, name)
    return Response(status_code=204)
