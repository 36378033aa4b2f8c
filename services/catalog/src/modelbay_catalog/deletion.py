"""Use case: delete a model (docs/catalog.md, "Deleting a model").

A soft delete, in one transaction: the model row is marked (`deleted_at`, `deleted_by`), every
read answers 404 from then on (`CatalogStore.find_model` and the search skip it), and
`ModelDeleted` goes into the outbox carrying what federation peers withdraw and what the artifact
garbage collector reclaims. The row stays so that the name is never reused — `alice/heat:1` keeps
meaning the one image a solution or a pull command once named — and so that late pipeline events
of its versions still land somewhere (hidden).

Who: the owner, an owner or maintainer of the owning organisation, an administrator
(`access.can_change`). A model that a live solution uses (a solution version, not failed, of a
model not deleted, naming one of its versions) is refused with 409 `model-in-use` unless
`force` is given; those solutions then refuse to build (solution_nodes.py) and to deploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from modelbay_common.access import Caller, can_change, can_see
from modelbay_common.events.publication import ModelDeleted

from modelbay_catalog.errors import DeletionNotAllowed, ModelInUse
from modelbay_catalog.federation.changes import record_withdrawal
from modelbay_catalog.service import emit, visible_model
from modelbay_catalog.store import CatalogStore
from modelbay_catalog.store_solutions import SolutionStore


@dataclass(frozen=True)
class DeletedModel:
    owner: str
    name: str
    kind: str
    versions: tuple[int, ...]
    deleted_by: str
    deleted_at: datetime


async def delete_model(
    store: CatalogStore,
    solutions: SolutionStore,
    caller: Caller,
    owner: str,
    name: str,
    *,
    force: bool = False,
) -> DeletedModel:
    model = await visible_model(store, caller, owner, name)
    if not can_change(caller, model.access):
        raise DeletionNotAllowed(owner, name)
    users = [
        u
        for u in await solutions.solutions_using(owner, name)
        if (u.owner, u.name) != (owner, name)
    ]
    if users and not force:
        # Name only the solutions the caller may see; count the others (nothing leaks).
        shown = [f"{u.owner}/{u.name}:{u.version}" for u in users if can_see(caller, u.access)]
        raise ModelInUse(owner, name, shown, hidden=len(users) - len(shown))
    states = await store.list_version_states(model.id)
    deleted_by = caller.user or "admin"
    at = await solutions.mark_deleted(model.id, deleted_by)
    await record_withdrawal(store, model)  # peers mirroring it withdraw it (docs/federation.md)
    versions = tuple(state.version for state in states)
    event = ModelDeleted(
        owner=model.owner,
        name=model.name,
        version=versions[-1] if versions else 1,
        versions=versions,
        image_refs=tuple(_pinned(s.image_ref, s.image_digest) for s in states if s.image_ref),
        bundle_uris=tuple(s.bundle_uri for s in states if s.bundle_uri),
        visibility=model.visibility.value,
        kind="solution" if model.kind == "solution" else "model",
        deleted_by=deleted_by,
    )
    await emit(store.session, event)
    return DeletedModel(model.owner, model.name, model.kind, versions, deleted_by, at)


def _pinned(image_ref: str, digest: str | None) -> str:
    """`registry/owner/name:3@sha256:...` when the digest is known: what a collector deletes."""
    return f"{image_ref}@{digest}" if digest and "@" not in image_ref else image_ref
