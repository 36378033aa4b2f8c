"""One sync with a peer: read its changes feed after the cursor, mirror what the subscriptions
match, withdraw what the peer withdrew, ask again for failed mirrors whose wait is over.

Runs in the caller's transaction with the peer's row locked (`FOR UPDATE`), so two replicas
(or the loop and a "sync now") never read the same pages twice; the cursor, the peer's status,
the new mirror requests and their `MirrorRequested` events commit together (the outbox). When
the peer does not answer, only its status changes: failures counted, the error kept, the next
attempt pushed back exponentially with jitter (rules.backoff_seconds).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from modelbay_common.access import Visibility
from modelbay_common.contracts.federation import FeedEntry, SyncOutcome
from modelbay_common.events import MirroredArtifact, MirrorRequested, PeerSynced

from modelbay_catalog.federation.events import emit
from modelbay_catalog.federation.origin_client import OriginError, fetch_changes
from modelbay_catalog.federation.records import MirroredVersionRecord, PeerRecord
from modelbay_catalog.federation.rules import MirrorState, namespaced_owner, next_attempt
from modelbay_catalog.federation.store import FederationStore
from modelbay_catalog.lifecycle import VersionState, VersionStatus
from modelbay_catalog.records import Publication
from modelbay_catalog.store import CatalogStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncPolicy:
    interval_seconds: float
    retry_base_seconds: float
    retry_max_seconds: float
    page_limit: int = 100
    max_pages: int = 20  # a longer backlog continues at the next sync, right after this one


async def sync_peer(
    store: CatalogStore, http: httpx.AsyncClient, peer: PeerRecord, policy: SyncPolicy
) -> SyncOutcome:
    """Sync `peer` (its row locked by the caller); the outcome is also sent as `PeerSynced`."""
    federation = FederationStore(store.session)
    now = datetime.now(UTC)
    cursor, entries, more = peer.cursor, [], True
    try:
        for _ in range(policy.max_pages):
            page = await fetch_changes(http, peer.url, peer.token, cursor, policy.page_limit)
            entries.extend(page.entries)
            cursor, more = page.next_cursor, page.has_more
            if not more:
                break
    except OriginError as exc:
        failures = peer.consecutive_failures + 1
        retry = policy.retry_base_seconds, policy.retry_max_seconds
        await federation.update_peer(
            peer.id,
            last_error=str(exc),
            last_error_at=now,
            consecutive_failures=failures,
            next_attempt_at=next_attempt(now, failures, base=retry[0], ceiling=retry[1]),
        )
        log.warning("sync with peer %s failed (%d in a row): %s", peer.name, failures, exc)
        outcome = SyncOutcome(
            peer=peer.name, cursor=peer.cursor, requested=0, withdrawn=0, error=str(exc)
        )
        await emit(store.session, _synced(outcome))
        return outcome
    requested = withdrawn = 0
    for entry in entries:
        if entry.action == "withdrawn":
            withdrawn += await _withdraw(store, federation, peer, entry)
        else:
            requested += await _mirror(store, federation, peer, entry)
    retried = 0
    for due in await federation.due_retries(peer.id, now):
        await _request_again(store, federation, peer, due)
        retried += 1
    # A backlog longer than one sync's pages continues at once, not after the interval.
    wait = 0.0 if more else policy.interval_seconds
    await federation.update_peer(
        peer.id,
        cursor=cursor,
        last_success_at=now,
        last_error=None,
        consecutive_failures=0,
        next_attempt_at=now + timedelta(seconds=wait),
    )
    outcome = SyncOutcome(
        peer=peer.name, cursor=cursor, requested=requested, withdrawn=withdrawn, retried=retried
    )
    await emit(store.session, _synced(outcome))
    return outcome


def _synced(outcome: SyncOutcome) -> PeerSynced:
    return PeerSynced(
        peer=outcome.peer,
        cursor=outcome.cursor,
        requested=outcome.requested + outcome.retried,
        withdrawn=outcome.withdrawn,
        error=outcome.error,
    )


async def _local_owner(
    store: CatalogStore, peer: PeerRecord, origin_owner: str, name: str
) -> str | None:
    """The origin's owner when `owner/name` is free here, else `<peer>.<owner>`; None when
    that is taken too (reported, never merged into someone else's model)."""
    for candidate in (origin_owner, namespaced_owner(peer.name, origin_owner)):
        if await store.find_model(candidate, name) is None:
            return candidate
    return None


async def _mirror(
    store: CatalogStore, federation: FederationStore, peer: PeerRecord, entry: FeedEntry
) -> int:
    """List the entry's model here and request its version; 1 when a copy was requested."""
    if entry.version is None or not peer.subscription.matches(
        entry.owner, entry.category, entry.tags
    ):
        return 0
    mirror = await federation.mirror_of(peer.id, entry.owner, entry.name)
    if mirror is None:
        owner = await _local_owner(store, peer, entry.owner, entry.name)
        if owner is None:
            log.warning(
                "peer %s: %s/%s clashes with local models under both names; not mirrored",
                peer.name,
                entry.owner,
                entry.name,
            )
            return 0
        model_id = await store.lock_model(owner, entry.name)
        await federation.add_mirrored_model(model_id, peer.id, entry.owner, entry.name)
    else:
        model_id = mirror.model_id
        owner, _ = await federation.model_coordinates(model_id) or (entry.owner, entry.name)
        await store.lock_model(owner, entry.name)
        if mirror.withdrawn_at is not None:
            await federation.set_withdrawn(model_id, False)
    await store.publish(model_id, _publication(peer, entry))
    existing = await federation.mirrored_version(model_id, entry.version)
    state = await store.lock_version(model_id, entry.version)
    if existing is not None and existing.state is not MirrorState.FAILED:
        if existing.state is MirrorState.WITHDRAWN:
            # Published again: the copy is still here when it was ready.
            ready = state is not None and state.status is VersionStatus.READY
            if ready:
                await federation.update_mirrored_version(existing.id, state="ready")
                return 0
        else:
            return 0  # requested or ready already
    if existing is not None and existing.retryable is False:
        return 0  # refused for good (a signature or digest): a new version is needed
    if not (entry.image_digest and entry.registry and entry.image_repository):
        log.warning(
            "peer %s: %s/%s:%s has no image; not mirrored",
            peer.name,
            entry.owner,
            entry.name,
            entry.version,
        )
        return 0
    await store.save_version(model_id, _requested_state(state, peer, entry))
    await store.refresh_model_summary(model_id)
    request: dict[str, Any] = {
        "origin_owner": entry.owner,
        "origin_name": entry.name,
        "origin_registry": entry.registry,
        "image_repository": entry.image_repository,
        "image_digest": entry.image_digest,
        "artifacts": [artifact.model_dump(mode="json") for artifact in entry.artifacts],
    }
    await federation.request_mirror(model_id, entry.version, request)
    await _emit_request(store, peer, owner, entry.name, entry.version, request)
    return 1


def _publication(peer: PeerRecord, entry: FeedEntry) -> Publication:
    return Publication(
        visibility=Visibility.PUBLIC,
        version=entry.version or 1,
        description=entry.description,
        category=entry.category or "other",
        license=entry.license or "",
        tags=tuple(entry.tags),
        published_by=f"{entry.owner}@{peer.name}",
    )


def _requested_state(
    before: VersionState | None, peer: PeerRecord, entry: FeedEntry
) -> VersionState:
    """The version as listed while it is copied: the origin's description, `building`."""
    assert entry.version is not None
    bundle = next((a for a in entry.artifacts if a.kind == "bundle"), None)
    base = before or VersionState(version=entry.version)
    return dataclasses.replace(
        base,
        status=VersionStatus.BUILDING,
        failure_reason=None,
        failure_detail=None,
        upload_id=f"mirror:{peer.name}:{entry.owner}/{entry.name}/{entry.version}",
        bundle_sha256=None if bundle is None else bundle.sha256,
        bundle_size=None if bundle is None else bundle.size,
        python_version=entry.python_version,
        requirements=tuple(entry.requirements),
        methods=tuple(method.name for method in entry.methods),
        interface=tuple(method.model_dump(mode="json") for method in entry.methods),
        uploaded_by=entry.uploaded_by,
        description=entry.description,
        license=entry.license,
        uploaded_at=base.uploaded_at or datetime.now(UTC),
    )


async def _emit_request(
    store: CatalogStore,
    peer: PeerRecord,
    owner: str,
    name: str,
    version: int,
    request: dict[str, Any],
) -> None:
    artifacts = request.get("artifacts") or []
    assert isinstance(artifacts, list)
    event = MirrorRequested(
        owner=owner,
        name=name,
        version=version,
        peer=peer.name,
        origin_url=peer.url,
        origin_owner=str(request["origin_owner"]),
        origin_name=str(request["origin_name"]),
        origin_version=version,
        origin_registry=str(request["origin_registry"]),
        image_repository=str(request["image_repository"]),
        image_digest=str(request["image_digest"]),
        artifacts=tuple(MirroredArtifact.model_validate(a) for a in artifacts),
        trusted_keys=tuple(key.pem for key in peer.keys),
    )
    await emit(store.session, event)


async def _request_again(
    store: CatalogStore,
    federation: FederationStore,
    peer: PeerRecord,
    due: MirroredVersionRecord,
) -> None:
    coordinates = await federation.model_coordinates(due.model_id)
    if coordinates is None:
        return
    await federation.request_mirror(due.model_id, due.version, due.request)
    await _emit_request(store, peer, coordinates[0], coordinates[1], due.version, due.request)


async def _withdraw(
    store: CatalogStore, federation: FederationStore, peer: PeerRecord, entry: FeedEntry
) -> int:
    mirror = await federation.mirror_of(peer.id, entry.owner, entry.name)
    if mirror is None or mirror.withdrawn_at is not None:
        return 0
    await federation.set_withdrawn(mirror.model_id, True)
    await federation.hide_model(mirror.model_id)
    return 1
