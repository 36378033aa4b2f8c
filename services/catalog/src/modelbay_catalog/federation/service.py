"""Use cases of peers (administrators only) and of a mirrored model's origin.

Every function works inside the caller's transaction. Registering a peer reads its public keys
from its `/v1/keys` first and pins them: a peer that does not answer is not registered (424),
so a typo in the URL is seen at once rather than at the first sync.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from modelbay_common.access import Caller
from modelbay_common.contracts.federation import (
    MirrorCounts,
    PeerBody,
    PeerCredentials,
    PeerKey,
    PeerOut,
    PeerStatus,
    PeerUpdateBody,
    SubscriptionBody,
    SyncOutcome,
)
from modelbay_common.contracts.origin import ModelOrigin
from sqlalchemy.exc import IntegrityError

from modelbay_catalog.federation.errors import (
    AdminRequired,
    InvalidPeer,
    ModelIsMirrored,
    PeerExists,
    PeerNotFound,
    PeerUnreachable,
)
from modelbay_catalog.federation.origin_client import OriginError, fetch_keys
from modelbay_catalog.federation.records import MirroredModelRecord, PeerKeyRecord, PeerRecord
from modelbay_catalog.federation.rules import (
    MirrorState,
    Subscription,
    check_peer_name,
    check_peer_url,
)
from modelbay_catalog.federation.store import FederationStore
from modelbay_catalog.federation.sync import SyncPolicy, sync_peer
from modelbay_catalog.records import ModelRecord
from modelbay_catalog.store import CatalogStore


def require_admin(caller: Caller, action: str) -> None:
    if not caller.admin:
        raise AdminRequired(action)


def subscription_of(body: SubscriptionBody) -> Subscription:
    def clean(values: list[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.strip().lower() for v in values if v.strip()))

    return Subscription(
        all=body.all,
        owners=clean(body.owners),
        categories=clean(body.categories),
        tags=clean(body.tags),
    )


def _url(url: str) -> str:
    try:
        return check_peer_url(url)
    except ValueError as exc:
        raise InvalidPeer(str(exc)) from None


async def _keys(http: httpx.AsyncClient, name: str, url: str) -> tuple[PeerKey, ...]:
    try:
        found = await fetch_keys(http, url)
    except OriginError as exc:
        raise PeerUnreachable(name, url, str(exc)) from None
    return tuple(PeerKey(key_id=k.key_id, pem=k.pem) for k in found)


async def register_peer(
    federation: FederationStore, http: httpx.AsyncClient, caller: Caller, body: PeerBody
) -> PeerOut:
    require_admin(caller, "register a peer")
    try:
        name = check_peer_name(body.name)
    except ValueError as exc:
        raise InvalidPeer(str(exc)) from None
    url = _url(body.url)
    if await federation.find_peer(name) is not None:
        raise PeerExists(name)
    keys = await _keys(http, name, url)
    try:
        async with federation.session.begin_nested():
            peer = await federation.add_peer(
                name,
                url,
                body.token,
                subscription_of(body.subscriptions),
                [PeerKeyRecord(k.key_id, k.pem) for k in keys],
                caller.user or "admin",
            )
    except IntegrityError:
        raise PeerExists(name) from None  # registered meanwhile by another request
    return await peer_out(federation, peer)


async def find_peer(federation: FederationStore, name: str, *, lock: bool = False) -> PeerRecord:
    peer = await federation.find_peer(name, lock=lock)
    if peer is None:
        raise PeerNotFound(name)
    return peer


async def peer_out(federation: FederationStore, peer: PeerRecord) -> PeerOut:
    counts = await federation.mirror_counts(peer.id)
    return PeerOut(
        name=peer.name,
        url=peer.url,
        subscriptions=SubscriptionBody(
            all=peer.subscription.all,
            owners=list(peer.subscription.owners),
            categories=list(peer.subscription.categories),
            tags=list(peer.subscription.tags),
        ),
        keys=[PeerKey(key_id=key.key_id, pem=key.pem) for key in peer.keys],
        keys_fetched_at=peer.keys_fetched_at,
        status=PeerStatus(
            cursor=peer.cursor,
            last_success_at=peer.last_success_at,
            last_error=peer.last_error,
            last_error_at=peer.last_error_at,
            next_attempt_at=peer.next_attempt_at,
            consecutive_failures=peer.consecutive_failures,
        ),
        mirrors=MirrorCounts(**{state.value: counts.get(state.value, 0) for state in MirrorState}),
        last_mirror_failure=await federation.last_mirror_failure(peer.id),
        created_by=peer.created_by,
        created_at=peer.created_at,
    )


async def list_peers(federation: FederationStore, caller: Caller) -> list[PeerOut]:
    require_admin(caller, "list peers")
    return [await peer_out(federation, peer) for peer in await federation.list_peers()]


async def show_peer(federation: FederationStore, caller: Caller, name: str) -> PeerOut:
    require_admin(caller, "read a peer")
    return await peer_out(federation, await find_peer(federation, name))


async def update_peer(
    federation: FederationStore, caller: Caller, name: str, body: PeerUpdateBody
) -> PeerOut:
    require_admin(caller, "change a peer")
    peer = await find_peer(federation, name, lock=True)
    values: dict[str, object] = {}
    if body.url is not None:
        values["url"] = _url(body.url)
    if body.token is not None:
        values["token"] = body.token
    if body.subscriptions is not None:
        values["subscription"] = subscription_of(body.subscriptions)
    if values:
        await federation.update_peer(peer.id, **values)
    return await peer_out(federation, await find_peer(federation, name))


async def refresh_keys(
    federation: FederationStore, http: httpx.AsyncClient, caller: Caller, name: str
) -> PeerOut:
    """Pin the peer's current keys again (after a rotation on the peer, docs/trust.md)."""
    require_admin(caller, "refresh a peer's keys")
    peer = await find_peer(federation, name, lock=True)
    keys = await _keys(http, peer.name, peer.url)
    await federation.update_peer(peer.id, keys=[PeerKeyRecord(k.key_id, k.pem) for k in keys])
    return await peer_out(federation, await find_peer(federation, name))


async def remove_peer(federation: FederationStore, caller: Caller, name: str) -> None:
    """Forget the peer; its mirrored models stay listed (they are ordinary public models then,
    still read-only until an administrator deletes them)."""
    require_admin(caller, "remove a peer")
    peer = await find_peer(federation, name, lock=True)
    await federation.delete_peer(peer.id)


async def sync_now(
    store: CatalogStore, http: httpx.AsyncClient, caller: Caller, name: str, policy: SyncPolicy
) -> SyncOutcome:
    require_admin(caller, "sync a peer")
    peer = await find_peer(FederationStore(store.session), name, lock=True)
    return await sync_peer(store, http, peer, policy)


async def credentials(federation: FederationStore, name: str) -> PeerCredentials:
    """For the builder (signed internal call): the URL and token of one peer."""
    peer = await find_peer(federation, name)
    return PeerCredentials(url=peer.url, token=peer.token)


# -- a mirrored model's origin ---------------------------------------------------------------


@dataclass(frozen=True)
class Origins:
    """The origins of one model and its versions, for its detail answers."""

    model: ModelOrigin | None
    versions: dict[int, ModelOrigin]


async def origins_of(federation: FederationStore, model: ModelRecord) -> Origins:
    mirror = await federation.mirrored_model(model.id)
    if mirror is None:
        return Origins(None, {})
    base = _origin(mirror)
    versions = {
        found.version: base.model_copy(
            update={"version": found.version, "state": found.state.value, "reason": found.reason}
        )
        for found in await federation.mirrored_versions(model.id)
    }
    return Origins(base, versions)


def _origin(mirror: MirroredModelRecord) -> ModelOrigin:
    return ModelOrigin(
        peer=mirror.peer,
        url=mirror.peer_url,
        owner=mirror.origin_owner,
        name=mirror.origin_name,
        withdrawn=mirror.withdrawn_at is not None,
        web_url=f"{mirror.peer_url}/models/{mirror.origin_owner}/{mirror.origin_name}",
    )


async def refuse_if_mirrored(federation: FederationStore, model: ModelRecord) -> None:
    """A mirrored model is read-only here: pushes, publications, aliases, ratings refused."""
    mirror = await federation.mirrored_model(model.id)
    if mirror is not None:
        origin = f"{mirror.peer_url}/v1/models/{mirror.origin_owner}/{mirror.origin_name}"
        raise ModelIsMirrored(model.owner, model.name, mirror.peer, origin)
