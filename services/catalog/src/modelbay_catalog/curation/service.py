"""Use cases of curation: move aliases, resolve them, and publish through approval.

Every function works inside the caller's transaction; events go to the catalog's outbox in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelbay_common.access import Caller, Visibility, acts_for
from modelbay_common.contracts.curation import LATEST_ALIAS, is_alias_name
from modelbay_common.events import (
    AliasMoved,
    AliasRemoved,
    PublishApproved,
    PublishDeclined,
    PublishRequested,
)

from modelbay_catalog.curation.errors import (
    AliasNotFound,
    InvalidAliasName,
    InvalidRequestFilter,
    PublishRequestNotFound,
    PublishRequestPending,
)
from modelbay_catalog.curation.records import AliasRecord, PublishRequestRecord
from modelbay_catalog.curation.rules import (
    alias_target,
    check_decision,
    check_maintainer,
    may_read_request,
    may_see_request,
    newest_ready,
    settable_alias,
)
from modelbay_catalog.curation.store import CurationStore
from modelbay_catalog.errors import CallerRequired, VersionNotReady
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.publishing import version_to_publish
from modelbay_catalog.records import ModelRecord, Publication, PublishRequest, StoredVersion
from modelbay_catalog.service import announce_publication, emit, visible_model
from modelbay_catalog.store import CatalogStore


@dataclass(frozen=True)
class Stores:
    catalog: CatalogStore
    curation: CurationStore


# -- aliases ---------------------------------------------------------------------------------


async def list_aliases(
    stores: Stores, caller: Caller, owner: str, name: str
) -> tuple[ModelRecord, list[AliasRecord]]:
    """The model's aliases, `latest` first when some version is ready."""
    model = await visible_model(stores.catalog, caller, owner, name)
    found = await stores.curation.aliases_of(model.id)
    latest = newest_ready(await stores.catalog.version_statuses(model.id))
    automatic = [] if latest is None else [AliasRecord(LATEST_ALIAS, latest, None, None)]
    return model, automatic + found


async def resolve_alias(
    stores: Stores, caller: Caller, owner: str, name: str, alias: str
) -> AliasRecord:
    """The version `alias` names for a caller who sees the model (404 otherwise)."""
    model = await visible_model(stores.catalog, caller, owner, name)
    if alias == LATEST_ALIAS:
        latest = newest_ready(await stores.catalog.version_statuses(model.id))
        if latest is None:
            raise AliasNotFound(owner, name, alias)
        return AliasRecord(LATEST_ALIAS, latest, None, None)
    if not is_alias_name(alias):
        raise InvalidAliasName(alias)
    found = await stores.curation.alias(model.id, alias)
    if found is None:
        raise AliasNotFound(owner, name, alias)
    return found


async def move_alias(
    stores: Stores, caller: Caller, owner: str, name: str, alias: str, version: int
) -> AliasRecord:
    """Point `alias` at a ready `version` (maintainers); `AliasMoved` when it changed."""
    model = await visible_model(stores.catalog, caller, owner, name)
    check_maintainer(caller, model, "move the aliases")
    settable_alias(alias)
    await stores.catalog.lock_model(owner, name)  # one alias move of a model at a time
    alias_target(model, version, await stores.catalog.version_statuses(model.id))
    before = await stores.curation.lock_alias(model.id, alias)
    if before is not None and before.version == version:
        return before  # nothing changed, nothing to announce
    mover = caller.user or "admin"
    await stores.curation.set_alias(model.id, alias, version, mover)
    await emit(
        stores.catalog.session,
        AliasMoved(
            owner=owner,
            name=name,
            version=version,
            alias=alias,
            previous_version=None if before is None else before.version,
            moved_by=mover,
        ),
    )
    moved = await stores.curation.alias(model.id, alias)
    assert moved is not None  # written in this transaction
    return moved


async def remove_alias(stores: Stores, caller: Caller, owner: str, name: str, alias: str) -> None:
    model = await visible_model(stores.catalog, caller, owner, name)
    check_maintainer(caller, model, "remove the aliases")
    settable_alias(alias)
    before = await stores.curation.lock_alias(model.id, alias)
    if before is None:
        raise AliasNotFound(owner, name, alias)
    await stores.curation.remove_alias(model.id, alias)
    remover = caller.user or "admin"
    await emit(
        stores.catalog.session,
        AliasRemoved(
            owner=owner, name=name, version=before.version, alias=alias, removed_by=remover
        ),
    )


# -- publishing through approval -------------------------------------------------------------


@dataclass(frozen=True)
class PublishOutcome:
    """Either the version was published, or a request now waits for a publisher."""

    published: StoredVersion | None = None
    request: PublishRequestRecord | None = None


async def publish_or_request(
    stores: Stores,
    caller: Caller,
    owner: str,
    name: str,
    wanted: PublishRequest,
    *,
    approval_required: bool,
) -> PublishOutcome:
    """Publish now, or — approval required and `public` asked for — file a publish request."""
    model = await visible_model(stores.catalog, caller, owner, name)
    statuses = await stores.catalog.version_statuses(model.id)
    number = version_to_publish(caller, model, wanted.version, statuses)
    version = await stores.catalog.find_version(model.id, number)
    assert version is not None  # version_to_publish found it in this transaction
    if not (approval_required and wanted.visibility is Visibility.PUBLIC):
        await announce_publication(
            stores.catalog, model, version, _publication(wanted, number, caller)
        )
        return PublishOutcome(published=version)
    await stores.catalog.lock_model(owner, name)  # one pending request per model, in order
    pending = await stores.curation.pending_request_of(model.id)
    if pending is not None:
        raise PublishRequestPending(owner, name, pending)
    requester = caller.user or "admin"
    request_id = await stores.curation.add_request(model.id, number, wanted, requester)
    await emit(
        stores.catalog.session,
        PublishRequested(
            owner=owner,
            name=name,
            version=number,
            request_id=request_id,
            visibility=wanted.visibility.value,
            requested_by=requester,
        ),
    )
    request = await stores.curation.request(request_id)
    assert request is not None  # written in this transaction
    return PublishOutcome(request=request)


def _publication(
    wanted: PublishRequest | PublishRequestRecord, version: int, by: Caller | str
) -> Publication:
    return Publication(
        visibility=wanted.visibility,
        version=version,
        description=wanted.description,
        category=wanted.category,
        license=wanted.license,
        tags=wanted.tags,
        published_by=by if isinstance(by, str) else (by.user or "admin"),
    )


async def _decidable(
    stores: Stores, caller: Caller, request_id: int
) -> tuple[ModelRecord, PublishRequestRecord]:
    request = await stores.curation.request(request_id, lock=True)
    model = (
        None if request is None else await stores.catalog.find_model(request.owner, request.name)
    )
    if request is None or model is None or not may_see_request(caller, model, request):
        raise PublishRequestNotFound(request_id)
    return model, request


async def approve(
    stores: Stores, caller: Caller, request_id: int, comment: str | None
) -> PublishRequestRecord:
    """A publisher approves: the version is published as requested (`Published` follows)."""
    model, request = await _decidable(stores, caller, request_id)
    check_decision(caller, model, request, declining=False, comment=comment)
    version = await stores.catalog.find_version(model.id, request.version)
    if version is None or version.state.status is not VersionStatus.READY:
        status = None if version is None else version.state.status.value
        raise VersionNotReady(model.owner, model.name, request.version, status)
    approver = caller.user or "admin"
    await stores.curation.decide(request.id, "approved", approver, comment)
    await emit(
        stores.catalog.session,
        PublishApproved(
            owner=model.owner,
            name=model.name,
            version=request.version,
            request_id=request.id,
            requested_by=request.requested_by,
            approved_by=approver,
            comment=comment,
        ),
    )
    # Published in the name of who asked; the approver is on the request and in the event.
    publication = _publication(request, request.version, request.requested_by)
    await announce_publication(stores.catalog, model, version, publication)
    decided = await stores.curation.request(request.id)
    assert decided is not None
    return decided


async def decline(
    stores: Stores, caller: Caller, request_id: int, comment: str | None
) -> PublishRequestRecord:
    model, request = await _decidable(stores, caller, request_id)
    check_decision(caller, model, request, declining=True, comment=comment)
    decliner = caller.user or "admin"
    assert comment is not None  # check_decision refuses a decline without one
    await stores.curation.decide(request.id, "declined", decliner, comment.strip())
    await emit(
        stores.catalog.session,
        PublishDeclined(
            owner=model.owner,
            name=model.name,
            version=request.version,
            request_id=request.id,
            requested_by=request.requested_by,
            declined_by=decliner,
            comment=comment.strip(),
        ),
    )
    decided = await stores.curation.request(request.id)
    assert decided is not None
    return decided


@dataclass(frozen=True)
class RequestFilter:
    """Which requests a list wants: a status (None: any), a namespace, one model of it."""

    status: str | None = "pending"
    owner: str | None = None
    name: str | None = None


async def list_requests(
    stores: Stores, caller: Caller, wanted: RequestFilter, limit: int
) -> list[PublishRequestRecord]:
    """Publishers and administrators: every request; others: those of their own models.

    `owner`/`name` narrow that list and never widen it: a model the caller may not see, or
    whose requests are not theirs to read, gives an empty list, like a model that does not exist.
    """
    if caller.user is None and not caller.admin:
        raise CallerRequired()
    if wanted.name is not None and wanted.owner is None:
        raise InvalidRequestFilter("Filtering on `name` needs `owner` too.", "name")
    namespaces: list[str] | None = None
    requested_by: str | None = None
    if not (caller.admin or caller.publisher):
        assert caller.user is not None
        namespaces = [caller.user] + [m.org for m in caller.memberships if acts_for(caller, m.org)]
        requested_by = caller.user
    return await stores.curation.requests(
        status=wanted.status,
        namespaces=namespaces,
        requested_by=requested_by,
        model=(wanted.owner, wanted.name),
        limit=limit,
    )


async def find_request(stores: Stores, caller: Caller, request_id: int) -> PublishRequestRecord:
    """One request, for those the list shows it to (`may_read_request`); 404 for the rest."""
    request = await stores.curation.request(request_id)
    model = (
        None if request is None else await stores.catalog.find_model(request.owner, request.name)
    )
    if request is None or model is None or not may_read_request(caller, model, request):
        raise PublishRequestNotFound(request_id)
    return request


__all__ = [
    "PublishOutcome",
    "RequestFilter",
    "Stores",
    "approve",
    "decline",
    "find_request",
    "list_aliases",
    "list_requests",
    "move_alias",
    "publish_or_request",
    "remove_alias",
    "resolve_alias",
]
