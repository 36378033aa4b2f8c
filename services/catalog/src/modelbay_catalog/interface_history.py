"""Which interface diffs to (re)compute when a version's descriptor set becomes known (pure).

A version is compared with the nearest *earlier* version whose descriptor set is known, whatever
its status: what a contributor changed since the last push they made, which is also what the
versions page lists one under the other. Versions can become known out of order (events of
different versions are handled concurrently and redelivered), so when version `v` becomes
known two diffs may change, and only these two:

- `v`'s own diff, against the nearest known version below it (none if `v` is the first);
- the diff of the nearest known version *above* `v`, which was compared with something older
  than `v` (or with nothing) and must now be compared with `v`.

Every other version keeps its base: `v` is not between it and its nearest known predecessor.
Whatever the order the versions arrive in, each ends up compared with its nearest known
predecessor, the same result as in order (the tests enumerate the orders).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from modelbay_common.interface import InterfaceDescriptionError, InterfaceDiff, diff_interfaces

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InterfaceDiffUpdate:
    version: int
    compared_to: int | None  # None: no earlier version is known (the diff is cleared)
    diff: InterfaceDiff | None  # None also when a descriptor set does not decode


def updates_after_known(
    descriptor_sets: Mapping[int, bytes], version: int
) -> list[InterfaceDiffUpdate]:
    """The diffs to store now that `version`'s descriptor set (in `descriptor_sets`, every
    known version of the model) is known."""
    if version not in descriptor_sets:
        return []
    earlier = [number for number in descriptor_sets if number < version]
    later = [number for number in descriptor_sets if number > version]
    updates = [_compare(descriptor_sets, max(earlier) if earlier else None, version)]
    if later:
        updates.append(_compare(descriptor_sets, version, min(later)))
    return updates


def _compare(
    descriptor_sets: Mapping[int, bytes], base: int | None, version: int
) -> InterfaceDiffUpdate:
    if base is None:
        return InterfaceDiffUpdate(version=version, compared_to=None, diff=None)
    try:
        diff = diff_interfaces(descriptor_sets[base], descriptor_sets[version])
    except InterfaceDescriptionError as exc:
        # Onboarding validated both; a set that still does not decode is logged, not fatal.
        log.warning("cannot diff version %d with %d: %s", version, base, exc)
        return InterfaceDiffUpdate(version=version, compared_to=base, diff=None)
    return InterfaceDiffUpdate(version=version, compared_to=base, diff=diff)
