"""The build-time check of a solution's nodes (docs/solutions.md, "Checked again at build").

A solution's nodes were checked when it was pushed (onboarding, with the catalog's facts about
the pusher). Its image is built minutes later; meanwhile a node's model may have been deleted or
made private. When the builder's `ImageBuilt` for a solution arrives, the catalog — which owns
deletion and visibility — checks every node again and refuses `ready` with one sentence naming
the first node that may no longer be used.

Who must still see a node: the solution's namespace as the catalog knows it, i.e. the uploader
(`uploaded_by`), the solution's organisation (`owner_org`) and, for a solution owned by an
organisation, that organisation as a maintainer would. The memberships of other organisations
live in the gateway, so a node another organisation shares with the uploader only through a
membership is not seen here: documented as a limit (a node of the solution's own namespace,
a public one, or one of its organisation is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from modelbay_common.access import Caller, Membership, OrgRole, can_see

from modelbay_catalog.records import ModelRecord
from modelbay_catalog.store import CatalogStore
from modelbay_catalog.store_solutions import SolutionStore


def namespace_caller(solution: ModelRecord, uploaded_by: str | None) -> Caller:
    """The caller a solution's nodes must stay visible to (see the module docstring)."""
    user = uploaded_by or solution.owner
    memberships: tuple[Membership, ...] = ()
    if user != solution.owner:
        memberships = (Membership(solution.owner, OrgRole.MAINTAINER),)
    return Caller(user=user, org=solution.owner_org, memberships=memberships)


def _split(model: str) -> tuple[str, str, int] | None:
    reference, _, version = model.rpartition(":")
    owner, _, name = reference.partition("/")
    if not (owner and name and version.isdigit()):
        return None
    return owner, name, int(version)


async def node_refusal(
    store: CatalogStore,
    solutions: SolutionStore,
    solution: ModelRecord,
    uploaded_by: str | None,
    nodes: Iterable[Mapping[str, Any]],
) -> str | None:
    """Why the solution may not become `ready` (one sentence naming the node), or None."""
    caller = namespace_caller(solution, uploaded_by)
    for node in nodes:
        node_id, model = str(node.get("node")), str(node.get("model"))
        named = f'node "{node_id}" ({model})'
        parts = _split(model)
        if parts is None:
            return f"{named} does not name OWNER/NAME:VERSION"
        owner, name, version = parts
        found = await solutions.find_model_even_deleted(owner, name)
        if found is not None and found.deleted_at is not None:
            return f"{named} was deleted"
        if found is None or await store.find_version(found.id, version) is None:
            return f"{named} does not exist"
        if not can_see(caller, found.access):
            return f"{named} is {found.visibility.value} now: {caller.user} may no longer use it"
    return None
