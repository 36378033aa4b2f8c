"""Use cases that change the catalog: pipeline events, publishing, download counts.

Reads are in service_queries.py. Every function works inside the caller's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from modelbay_common.access import Caller, ModelAccess, can_see
from modelbay_common.events import Event as PipelineEvent
from modelbay_common.events import ImageBuilt, ModelUploaded, Published
from modelbay_common.outbox import EventEmitter
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.curation.store import CurationStore
from modelbay_catalog.errors import ModelNotFound, VersionNotFound
from modelbay_catalog.federation.changes import record_publication, record_ready_version
from modelbay_catalog.interface_history import updates_after_known
from modelbay_catalog.lifecycle import VersionState, VersionStatus, apply_event, refuse_ready
from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.publishing import version_to_publish
from modelbay_catalog.records import ModelRecord, Publication, PublishRequest, StoredVersion
from modelbay_catalog.settings import EVENT_SOURCE
from modelbay_catalog.solution_nodes import node_refusal
from modelbay_catalog.store import CatalogStore
from modelbay_catalog.store_solutions import SolutionStore

log = logging.getLogger(__name__)

# The catalog's one way to write an event: in its outbox, in the caller's transaction.
emit = EventEmitter(source=EVENT_SOURCE, schema=SCHEMA)


async def record_pipeline_event(store: CatalogStore, event: PipelineEvent, at: datetime) -> None:
    """Move the version the event is about (creating model and version if they are new)."""
    model_id = await store.lock_model(event.owner, event.name)
    before = await store.lock_version(model_id, event.version)
    after = apply_event(before or VersionState(version=event.version), event, at)
    if isinstance(event, ImageBuilt) and after.kind == "solution":
        after = await _recheck_solution_nodes(store, event, before, after, at)
    if before is not None and after.status is not before.status:
        log.info("version %s: %s -> %s", event.subject, before.status.value, after.status.value)
    if after != before:
        await store.save_version(model_id, after)
    became_ready = before is None or before.status is not VersionStatus.READY
    if after.status is VersionStatus.READY and became_ready:
        await record_ready_version(store, model_id, event.version)  # peers' changes feed
    if after.descriptor_set is not None and (before is None or before.descriptor_set is None):
        await _record_interface_diffs(store, model_id, event.version)
    if isinstance(event, ModelUploaded):
        await store.adopt_upload_metadata(
            model_id, event.owner_org, event.description, event.license
        )
    await store.refresh_model_summary(model_id)


async def _recheck_solution_nodes(
    store: CatalogStore,
    event: ImageBuilt,
    before: VersionState | None,
    after: VersionState,
    at: datetime,
) -> VersionState:
    """A solution becomes `ready` only if its nodes may still be used (solution_nodes.py)."""
    if after.status is not VersionStatus.READY or (before and before.status is after.status):
        return after
    solutions = SolutionStore(store.session)
    solution = await solutions.find_model_even_deleted(event.owner, event.name)
    assert solution is not None  # lock_model created it in this transaction
    reason = await node_refusal(store, solutions, solution, after.uploaded_by, after.nodes)
    if reason is None:
        return after
    log.info("solution %s refused at build: %s", event.subject, reason)
    return refuse_ready(before or VersionState(version=event.version), event, reason, at)


async def _record_interface_diffs(store: CatalogStore, model_id: int, version: int) -> None:
    """The version's interface diff, and its successor's if it arrived first (the model row is
    locked, so no other event of this model runs meanwhile)."""
    for update in updates_after_known(await store.descriptor_sets(model_id), version):
        await store.save_interface_diff(model_id, update)
        if update.diff is not None and update.diff.breaking:
            log.info(
                "version %d of model %d breaks the interface of version %s: %s",
                update.version,
                model_id,
                update.compared_to,
                "; ".join(update.diff.lines()),
            )


async def visible_model(store: CatalogStore, caller: Caller, owner: str, name: str) -> ModelRecord:
    """The model, if `caller` may see it; otherwise ModelNotFound, exactly as if it were missing."""
    model = await store.find_model(owner, name)
    if model is None or not await may_see(store.session, caller, model):
        raise ModelNotFound(owner, name)
    return model


async def may_see(session: AsyncSession, caller: Caller, model: ModelRecord) -> bool:
    """`modelbay_common.access.can_see` of a model found by one of the stores."""
    return can_see(caller, await _access_of(session, caller, model))


async def _access_of(session: AsyncSession, caller: Caller, model: ModelRecord) -> ModelAccess:
    """The model's access facts; `under_review` is looked up only when it could matter (a
    publisher who would not see the model otherwise: modelbay_common.access)."""
    access = model.access
    if caller.publisher and not can_see(caller, access):
        pending = await CurationStore(session).pending_request_of(model.id)
        access = replace(access, under_review=pending is not None)
    return access


async def visible_version(
    store: CatalogStore, caller: Caller, owner: str, name: str, version: int
) -> tuple[ModelRecord, StoredVersion]:
    model = await visible_model(store, caller, owner, name)
    found = await store.find_version(model.id, version)
    if found is None:
        raise VersionNotFound(owner, name, version)
    return model, found


async def publish_model(
    store: CatalogStore,
    caller: Caller,
    owner: str,
    name: str,
    request: PublishRequest,
) -> StoredVersion:
    """Set the model's metadata and visibility and announce a ready version (owner or admin)."""
    model = await visible_model(store, caller, owner, name)
    statuses = await store.version_statuses(model.id)
    number = version_to_publish(caller, model, request.version, statuses)
    version = await store.find_version(model.id, number)
    assert version is not None  # version_to_publish found it in this transaction
    publication = Publication(
        visibility=request.visibility,
        version=number,
        description=request.description,
        category=request.category,
        license=request.license,
        tags=request.tags,
        published_by=caller.user or "admin",
    )
    await announce_publication(store, model, version, publication)
    return version


async def announce_publication(
    store: CatalogStore, model: ModelRecord, version: StoredVersion, publication: Publication
) -> None:
    """Apply the publication to the model and put `Published` in the outbox (also the end of
    an approved publish request, modelbay_catalog.curation)."""
    await record_publication(store, model, publication.visibility, publication.version)
    await store.publish(model.id, publication)
    await emit(store.session, _published_event(model, version, publication))


def _published_event(
    model: ModelRecord, version: StoredVersion, publication: Publication
) -> Published:
    return Published(
        owner=model.owner,
        name=model.name,
        version=publication.version,
        visibility=publication.visibility.value,
        image_ref=version.state.image_ref or "",
        description=publication.description,
        category=publication.category,
        license=publication.license,
        published_by=publication.published_by,
    )


async def count_download(
    store: CatalogStore, caller: Caller, owner: str, name: str, version: int, kind: str
) -> tuple[ModelRecord, StoredVersion]:
    """Count one download of an artifact of a version the caller may see; the new counts."""
    _, found = await visible_version(store, caller, owner, name, version)
    await store.count_download(found.id, kind)
    return await visible_version(store, caller, owner, name, version)
