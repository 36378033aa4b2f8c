"""Appending to this instance's changes feed, in the transaction of the change (feed.py reads it).

The catalog's use cases call these: `record_publication` from every publication,
`record_ready_version` when a version becomes ready, `record_withdrawal` when a model is deleted.
"""

from __future__ import annotations

from modelbay_common.access import Visibility

from modelbay_catalog.federation.rules import ChangeAction
from modelbay_catalog.federation.store import FederationStore
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.records import ModelRecord
from modelbay_catalog.store import CatalogStore


async def record_publication(
    store: CatalogStore, before: ModelRecord, visibility: Visibility, version: int
) -> None:
    """Append what a publication changes for peers (called in the publication's transaction)."""
    federation = FederationStore(store.session)
    was_public = before.visibility is Visibility.PUBLIC
    if visibility is not Visibility.PUBLIC:
        if was_public:
            await federation.append_change(
                before.id, before.owner, before.name, None, ChangeAction.WITHDRAWN
            )
        return
    statuses = await store.version_statuses(before.id)
    ready = sorted(n for n, status in statuses.items() if status is VersionStatus.READY)
    announced = [n for n in ready if n != version] if not was_public else []
    for number in [*announced, version]:
        await federation.append_change(
            before.id, before.owner, before.name, number, ChangeAction.PUBLISHED
        )


async def record_ready_version(store: CatalogStore, model_id: int, version: int) -> None:
    """A version became ready: announce it when its model is public."""
    model = await _model_by_id(store, model_id)
    if model is not None and model.visibility is Visibility.PUBLIC:
        await FederationStore(store.session).append_change(
            model.id, model.owner, model.name, version, ChangeAction.PUBLISHED
        )


async def record_withdrawal(store: CatalogStore, model: ModelRecord) -> None:
    """A model is deleted (or otherwise gone): peers withdraw their copy if it was public."""
    if model.visibility is Visibility.PUBLIC:
        await FederationStore(store.session).append_change(
            model.id, model.owner, model.name, None, ChangeAction.WITHDRAWN
        )


async def _model_by_id(store: CatalogStore, model_id: int) -> ModelRecord | None:
    found = await FederationStore(store.session).model_coordinates(model_id)
    return None if found is None else await store.find_model(*found)
