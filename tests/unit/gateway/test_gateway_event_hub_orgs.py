"""The SSE hub with organisations: an organisation's members follow the events of its models
as the access rule says, and an organisation's own events (not about a model) are not sent."""

from __future__ import annotations

import asyncio

from modelbay_common.access import Caller, Membership, ModelAccess, OrgRole, Visibility
from modelbay_common.events import AliasMoved, OrgMemberAdded, envelope
from modelbay_gateway.events_hub import EventFilter, EventHub
from modelbay_gateway.visibility import VisibilityCache


def _hub(access: ModelAccess) -> EventHub:
    async def lookup(owner: str, name: str) -> ModelAccess | None:
        return access if (owner, name) == (access.owner, "m") else None

    return EventHub(VisibilityCache(lookup, ttl_seconds=0), 100)


def _member(user: str, role: OrgRole) -> Caller:
    return Caller(user=user, memberships=(Membership("acme", role),))


def _types(queue: object) -> list[str]:
    assert isinstance(queue, asyncio.Queue)
    found = []
    while not queue.empty():
        item = queue.get_nowait()
        found.append(str(getattr(item, "type", "END")))
    return found


async def test_an_organisations_private_model_is_followed_by_its_maintainers_only() -> None:
    hub = _hub(ModelAccess("acme", "acme", Visibility.PRIVATE))
    moved = AliasMoved(owner="acme", name="m", version=2, alias="stable", moved_by="mia")
    with (
        hub.subscribe(_member("mia", OrgRole.MAINTAINER), EventFilter()) as maintainer,
        hub.subscribe(_member("rex", OrgRole.READER), EventFilter()) as reader,
    ):
        await hub.deliver(envelope(moved, source="/modelbay/catalog"))
    assert _types(maintainer.queue) == ["modelbay.model.alias_moved.v1"]
    assert _types(reader.queue) == []


async def test_an_organisations_own_events_are_not_streamed() -> None:
    hub = _hub(ModelAccess("acme", "acme", Visibility.PUBLIC))
    added = OrgMemberAdded(org="acme", member="rex", role="reader", added_by="olga")
    with hub.subscribe(Caller(user="root", admin=True), EventFilter()) as admin:
        await hub.deliver(envelope(added, source="/modelbay/gateway"))
    assert _types(admin.queue) == []
