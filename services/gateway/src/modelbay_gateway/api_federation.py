"""Federation routes (docs/federation.md).

    GET    /v1/federation/changes?after=&limit=   the changes feed peers read (any signed-in
                                                   account: it lists public models only)
    GET    /v1/admin/peers                         peers with their status
    POST   /v1/admin/peers                         register (URL + token; keys fetched, pinned)
    GET    /v1/admin/peers/{peer}                  one peer
    PATCH  /v1/admin/peers/{peer}                  subscriptions, URL or token
    POST   /v1/admin/peers/{peer}/refresh-keys     pin the peer's current keys again
    POST   /v1/admin/peers/{peer}/sync             sync now (waits for it)
    DELETE /v1/admin/peers/{peer}                  forget the peer

The admin routes are for administrators only (403 `admin-required` before anything is asked of
the catalog, which checks again). Every error is RFC 9457 problem+json.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from modelbay_common.contracts.federation import (
    FeedPage,
    PeerBody,
    PeerList,
    PeerOut,
    PeerUpdateBody,
    SyncOutcome,
)

from modelbay_gateway.auth import SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.errors import AdminRequired
from modelbay_gateway.records import Principal
from modelbay_gateway.service_federation import PEERS, changes_feed, relay
from modelbay_gateway.service_models import caller_of

router = APIRouter(prefix="/v1", tags=["federation"])

PeerName = Annotated[
    str,
    Path(min_length=1, max_length=40, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", description="peer"),
]


def _admin(principal: Principal, action: str) -> None:
    if not principal.user.is_admin:
        raise AdminRequired(action)


def _peer_path(peer: str, tail: str = "") -> str:
    return f"{PEERS}/{quote(peer, safe='')}{tail}"


@router.get("/federation/changes", response_model=FeedPage, summary="The changes feed peers read")
async def changes(
    principal: SignedIn,
    context: ContextDep,
    request: Request,
    after: Annotated[
        str, Query(max_length=20, pattern=r"^[0-9]+$", description="a `next_cursor`; 0: start")
    ] = "0",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FeedPage:
    """Public ready versions (`published`, with artifacts, image repository and digest) and
    withdrawn models (`withdrawn`) in the order they happened, after `after`."""
    base_url = str(request.base_url).rstrip("/")
    caller = caller_of(principal)
    return await changes_feed(context.upstreams, context.blob_store, caller, base_url, after, limit)


@router.get("/admin/peers", response_model=PeerList, summary="Peers and their sync status")
async def peers(principal: SignedIn, context: ContextDep) -> Any:
    _admin(principal, "list peers")
    return await relay(context.upstreams, caller_of(principal), "GET", PEERS)


@router.post("/admin/peers", response_model=PeerOut, status_code=201, summary="Register a peer")
async def register(body: PeerBody, principal: SignedIn, context: ContextDep) -> Any:
    """Fetches the peer's `/v1/keys` and pins them; 424 `peer-unreachable` when it cannot."""
    _admin(principal, "register a peer")
    payload = body.model_dump(mode="json")
    return await relay(context.upstreams, caller_of(principal), "POST", PEERS, payload)


@router.get("/admin/peers/{peer}", response_model=PeerOut, summary="One peer")
async def peer(peer: PeerName, principal: SignedIn, context: ContextDep) -> Any:
    _admin(principal, "read a peer")
    return await relay(context.upstreams, caller_of(principal), "GET", _peer_path(peer))


@router.patch("/admin/peers/{peer}", response_model=PeerOut, summary="Change a peer")
async def update(
    peer: PeerName, body: PeerUpdateBody, principal: SignedIn, context: ContextDep
) -> Any:
    _admin(principal, "change a peer")
    payload = body.model_dump(mode="json", exclude_none=True)
    return await relay(context.upstreams, caller_of(principal), "PATCH", _peer_path(peer), payload)


@router.post(
    "/admin/peers/{peer}/refresh-keys", response_model=PeerOut, summary="Re-pin a peer's keys"
)
async def refresh_keys(peer: PeerName, principal: SignedIn, context: ContextDep) -> Any:
    _admin(principal, "refresh a peer's keys")
    path = _peer_path(peer, "/refresh-keys")
    return await relay(context.upstreams, caller_of(principal), "POST", path)


@router.post("/admin/peers/{peer}/sync", response_model=SyncOutcome, summary="Sync a peer now")
async def sync(peer: PeerName, principal: SignedIn, context: ContextDep) -> Any:
    """Reads the peer's feed now; a peer that does not answer is an outcome with `error`."""
    _admin(principal, "sync a peer")
    return await relay(context.upstreams, caller_of(principal), "POST", _peer_path(peer, "/sync"))


@router.delete(
    "/admin/peers/{peer}", status_code=204, response_class=Response, summary="Remove a peer"
)
async def remove(peer: PeerName, principal: SignedIn, context: ContextDep) -> Response:
    _admin(principal, "remove a peer")
    await relay(context.upstreams, caller_of(principal), "DELETE", _peer_path(peer))
    return Response(status_code=204)
