"""The rules of publishing (pure: no I/O): who may publish, and which version."""

from __future__ import annotations

from collections.abc import Mapping

from modelbay_common.access import Caller, can_change

from modelbay_catalog.errors import CallerRequired, NotModelOwner, VersionNotFound, VersionNotReady
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.records import ModelRecord


def version_to_publish(
    caller: Caller,
    model: ModelRecord,
    requested: int | None,
    statuses: Mapping[int, VersionStatus],
) -> int:
    """The version number to announce, or the error that explains why not.

    The caller is assumed to see the model (the use case answers 404 otherwise). Without an
    explicit version the newest `ready` one is chosen. A version that is not `ready` is refused
    (409) rather than remembered: the owner learns at once, and nothing is announced for a
    version that may still fail.
    """
    if caller.user is None and not caller.admin:
        raise CallerRequired()
    if not can_change(caller, model.access):
        raise NotModelOwner(model.owner, model.name)
    if requested is None:
        ready = [number for number, status in statuses.items() if status is VersionStatus.READY]
        if not ready:
            raise VersionNotReady(model.owner, model.name, None, None)
        return max(ready)
    status = statuses.get(requested)
    if status is None:
        raise VersionNotFound(model.owner, model.name, requested)
    if status is not VersionStatus.READY:
        raise VersionNotReady(model.owner, model.name, requested, status.value)
    return requested
