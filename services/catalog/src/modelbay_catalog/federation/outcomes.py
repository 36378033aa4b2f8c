"""The builder's answers to `MirrorRequested`: a mirrored version becomes ready, or records why not.

A ready mirrored version carries what downloads and `modelbay pull` read for a local one: the
image reference and digest in this instance's registry, and the blob keys of its artifacts. The
builder stores them under the same keys as a local version's (`modelbay_common.blob.keys`: the
bundle content-addressed, the others under the LOCAL owner/name/version), so the gateway's
download routes work unchanged.

Both handlers are idempotent (the inbox, and a mirror already `ready` ignores anything later);
answers about a peer or a model this instance no longer mirrors are acknowledged and ignored.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

from modelbay_common.blob.keys import bundle_key, provenance_key, sbom_key
from modelbay_common.bus.port import Handler
from modelbay_common.db import SessionFactory
from modelbay_common.events import Envelope, MirrorFailed, VersionMirrored
from modelbay_common.inbox import idempotent
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.federation.records import MirroredVersionRecord
from modelbay_catalog.federation.rules import MirrorState, next_attempt
from modelbay_catalog.federation.store import FederationStore
from modelbay_catalog.lifecycle import VersionState, VersionStatus
from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.store import CatalogStore

log = logging.getLogger(__name__)

OUTCOME_EVENT_TYPES: tuple[str, ...] = (VersionMirrored.type, MirrorFailed.type)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    max_seconds: float


async def _mirrored_version(
    store: CatalogStore, event: VersionMirrored | MirrorFailed
) -> tuple[int, MirroredVersionRecord, VersionState] | None:
    federation = FederationStore(store.session)
    peer = await federation.find_peer(event.peer)
    if peer is None:
        log.info("answer about peer %s, which is not registered (any more); ignored", event.peer)
        return None
    mirror = await federation.mirror_of(peer.id, event.origin_owner, event.origin_name)
    if mirror is None:
        log.info("answer about %s, not mirrored here; ignored", event.subject)
        return None
    await store.lock_model(event.owner, event.name)  # serialises with the sync and the pipeline
    found = await federation.mirrored_version(mirror.model_id, event.version, lock=True)
    state = await store.lock_version(mirror.model_id, event.version)
    if found is None or state is None:
        log.info("answer about %s, never requested here; ignored", event.subject)
        return None
    return mirror.model_id, found, state


async def record_outcome(store: CatalogStore, envelope: Envelope, retry: RetryPolicy) -> None:
    event = envelope.data
    if isinstance(event, VersionMirrored):
        await _on_mirrored(store, event, envelope.time)
    elif isinstance(event, MirrorFailed):
        await _on_failed(store, event, envelope.time, retry)
    else:
        log.info("event %s of type %s is not a mirror outcome; ignored", envelope.id, envelope.type)


async def _on_mirrored(store: CatalogStore, event: VersionMirrored, at: datetime) -> None:
    found = await _mirrored_version(store, event)
    if found is None:
        return
    model_id, mirrored, state = found
    if mirrored.state is MirrorState.READY:
        return
    by_kind = {artifact.kind: artifact for artifact in event.artifacts}
    bundle, sbom, provenance = by_kind.get("bundle"), by_kind.get("sbom"), by_kind.get("provenance")
    owner, name, version = event.owner, event.name, event.version
    ready = dataclasses.replace(
        state,
        status=VersionStatus.READY,
        failure_reason=None,
        failure_detail=None,
        image_ref=event.image_ref,
        image_digest=event.image_digest,
        bundle_uri=None if bundle is None else bundle_key(bundle.sha256),
        bundle_sha256=None if bundle is None else bundle.sha256,
        bundle_size=None if bundle is None else bundle.size,
        sbom_uri=None if sbom is None else sbom_key(owner, name, version),
        provenance_uri=None if provenance is None else provenance_key(owner, name, version),
        provenance_sha256=None if provenance is None else provenance.sha256,
        finished_at=at,
    )
    await store.save_version(model_id, ready)
    await store.refresh_model_summary(model_id)
    # A copy that lands after the peer withdrew the model stays withdrawn (and hidden).
    new_state = (
        MirrorState.WITHDRAWN if mirrored.state is MirrorState.WITHDRAWN else MirrorState.READY
    )
    await FederationStore(store.session).update_mirrored_version(
        mirrored.id,
        state=new_state.value,
        reason=None,
        detail=None,
        retryable=None,
        next_attempt_at=None,
        verified_key_id=event.verified_key_id,
    )
    log.info("%s mirrored from peer %s (key %s)", event.subject, event.peer, event.verified_key_id)


async def _on_failed(
    store: CatalogStore, event: MirrorFailed, at: datetime, retry: RetryPolicy
) -> None:
    found = await _mirrored_version(store, event)
    if found is None:
        return
    model_id, mirrored, state = found
    if mirrored.state in (MirrorState.READY, MirrorState.WITHDRAWN):
        return
    wait_until = (
        next_attempt(
            datetime.now(UTC), mirrored.attempts, base=retry.base_seconds, ceiling=retry.max_seconds
        )
        if event.retryable
        else None
    )
    await FederationStore(store.session).update_mirrored_version(
        mirrored.id,
        state=MirrorState.FAILED.value,
        reason=event.reason,
        detail=event.detail,
        retryable=event.retryable,
        next_attempt_at=wait_until,
    )
    if not event.retryable:
        # Final: the version shows the reason like any failed version.
        failed = dataclasses.replace(
            state,
            status=VersionStatus.FAILED,
            failure_reason=f"Mirroring from peer {event.peer} failed: {event.reason}",
            failure_detail=event.detail,
            finished_at=at,
        )
        await store.save_version(model_id, failed)
        await store.refresh_model_summary(model_id)
    log.warning(
        "mirroring %s from peer %s failed (%s): %s",
        event.subject,
        event.peer,
        "retried later" if event.retryable else "final",
        event.reason,
    )


def outcome_handler(consumer: str, sessions: SessionFactory, retry: RetryPolicy) -> Handler:
    """The bus handler of the builder's answers: one transaction per event, via the inbox."""

    async def record(session: AsyncSession, envelope: Envelope) -> None:
        await record_outcome(CatalogStore(session), envelope, retry)

    return idempotent(consumer, record, sessions=sessions, schema=SCHEMA)
