"""The rules of aliases and publish decisions (pure: no I/O).

- An alias name is a letter followed by letters, digits and . _ - (never a number: `3` is a
  version); `latest` is automatic: the newest ready version, never set, moved or removed.
- Aliases are moved by those who change the model (`modelbay_common.access.can_change`), and
  only to a version that is `ready` (a name people run must run).
- A publish request is decided by a publisher or an administrator who does not own the model
  and did not ask for the publication (`can_decide_publication`), once; declining says why.
- A request is read by publishers, administrators, who asked for it and who may change the
  model; deciding one is refused with a reason (403) to anyone who sees the model.
"""

from __future__ import annotations

from collections.abc import Mapping

from modelbay_common.access import Caller, can_change, can_decide_publication, can_see
from modelbay_common.contracts.curation import LATEST_ALIAS, is_alias_name

from modelbay_catalog.curation.errors import (
    AliasIsAutomatic,
    CommentRequired,
    InvalidAliasName,
    MaintainerRequired,
    OwnPublicationRefused,
    PublisherRequired,
    PublishRequestDecided,
)
from modelbay_catalog.curation.records import PublishRequestRecord
from modelbay_catalog.errors import CallerRequired, VersionNotFound, VersionNotReady
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.records import ModelRecord


def settable_alias(alias: str) -> str:
    """`alias` if a maintainer may set or remove it; the error naming the problem otherwise."""
    if alias == LATEST_ALIAS:
        raise AliasIsAutomatic()
    if not is_alias_name(alias):
        raise InvalidAliasName(alias)
    return alias


def check_maintainer(caller: Caller, model: ModelRecord, action: str) -> None:
    """The caller (who sees the model) may change it; 401 anonymous, 403 otherwise."""
    if caller.user is None and not caller.admin:
        raise CallerRequired()
    if not can_change(caller, model.access):
        raise MaintainerRequired(model.owner, model.name, action)


def alias_target(model: ModelRecord, version: int, statuses: Mapping[int, VersionStatus]) -> int:
    status = statuses.get(version)
    if status is None:
        raise VersionNotFound(model.owner, model.name, version)
    if status is not VersionStatus.READY:
        raise VersionNotReady(model.owner, model.name, version, status.value)
    return version


def newest_ready(statuses: Mapping[int, VersionStatus]) -> int | None:
    ready = [number for number, status in statuses.items() if status is VersionStatus.READY]
    return max(ready) if ready else None


def check_decision(
    caller: Caller,
    model: ModelRecord,
    request: PublishRequestRecord,
    *,
    declining: bool,
    comment: str | None,
) -> None:
    """May `caller` decide `request` now? Raises the error that says why not.

    A caller with no right to decide who may not see the model gets the no-leak 404 from the
    caller of this rule (`PublishRequestNotFound`); this rule answers the rest.
    """
    if caller.user is None:
        raise CallerRequired()
    if not (caller.admin or caller.publisher):
        raise PublisherRequired(request.id)
    if not can_decide_publication(caller, model.access, request.requested_by):
        raise OwnPublicationRefused(request.id, model.owner, model.name)
    if request.status != "pending":
        raise PublishRequestDecided(request.id, request.status)
    if declining and not (comment and comment.strip()):
        raise CommentRequired(request.id)


def may_see_request(caller: Caller, model: ModelRecord, request: PublishRequestRecord) -> bool:
    """Publishers and administrators see every request; others those of models they see."""
    if caller.admin or (caller.publisher and caller.user is not None):
        return True
    return caller.user == request.requested_by or can_see(caller, model.access)


def may_read_request(caller: Caller, model: ModelRecord, request: PublishRequestRecord) -> bool:
    """Who reads a request (its decline comment included): publishers and administrators, who
    asked for it, and those who may ask (`can_change`) — the list's rule. Seeing the model is
    not enough: a reader of an organisation or any visitor of a public model does not."""
    if caller.admin or (caller.publisher and caller.user is not None):
        return True
    return caller.user == request.requested_by or can_change(caller, model.access)
