"""The SSE hub: who receives which event, resuming after Last-Event-ID, slow subscribers."""

from __future__ import annotations

from modelbay_common.access import Caller, ModelAccess, Visibility
from modelbay_common.events import Envelope, ModelUploaded, Published, envelope
from modelbay_gateway.events_hub import EventFilter, EventHub, format_sse
from modelbay_gateway.visibility import VisibilityCache

ALICE = Caller(user="alice", org="acme")
BOB = Caller(user="bob", org="other")
CAROL = Caller(user="carol", org="acme")
ADMIN = Caller(user="root", admin=True)


def uploaded(owner: str, name: str = "m", version: int = 1) -> Envelope:
    event = ModelUploaded(
        owner=owner,
        name=name,
        version=version,
        upload_id="u",
        bundle_uri="bundles/x",
        bundle_sha256="0" * 64,
        bundle_size=1,
        python_version="3.11",
        uploaded_by=owner,
    )
    return envelope(event, source="/modelbay/onboarding")


def published(owner: str, visibility: str, name: str = "m") -> Envelope:
    event = Published(
        owner=owner,
        name=name,
        version=1,
        visibility=visibility,  # type: ignore[arg-type]
        image_ref="r",
        published_by=owner,
    )
    return envelope(event, source="/modelbay/catalog")


def hub_with(
    known: dict[tuple[str, str], ModelAccess], replay: int = 100, ttl: float = 0
) -> EventHub:
    async def lookup(owner: str, name: str) -> ModelAccess | None:
        return known.get((owner, name))

    return EventHub(VisibilityCache(lookup, ttl_seconds=ttl), replay)


def drained(queue: object) -> list[str]:
    import asyncio

    assert isinstance(queue, asyncio.Queue)
    items = []
    while not queue.empty():
        item = queue.get_nowait()
        items.append("END" if item is None else item.owner + "/" + item.type.split(".")[2])
    return items


async def test_private_events_reach_owner_and_admins_only() -> None:
    hub = hub_with({("alice", "m"): ModelAccess("alice", "acme", Visibility.PRIVATE)})
    with (
        hub.subscribe(ALICE, EventFilter()) as alice,
        hub.subscribe(BOB, EventFilter()) as bob,
        hub.subscribe(ADMIN, EventFilter()) as admin,
    ):
        await hub.deliver(uploaded("alice"))
        assert drained(alice.queue) == ["alice/uploaded"]
        assert drained(bob.queue) == []
        assert drained(admin.queue) == ["alice/uploaded"]


async def test_org_visibility_reaches_the_owners_organisation() -> None:
    hub = hub_with({("alice", "m"): ModelAccess("alice", "acme", Visibility.ORG)})
    with hub.subscribe(CAROL, EventFilter()) as carol, hub.subscribe(BOB, EventFilter()) as bob:
        await hub.deliver(uploaded("alice"))
    assert drained(carol.queue) == ["alice/uploaded"]
    assert drained(bob.queue) == []


async def test_unknown_model_is_private_to_its_owner() -> None:
    hub = hub_with({})  # the catalog has not seen the upload yet
    with hub.subscribe(ALICE, EventFilter()) as alice, hub.subscribe(BOB, EventFilter()) as bob:
        await hub.deliver(uploaded("alice"))
    assert drained(alice.queue) == ["alice/uploaded"]
    assert drained(bob.queue) == []


async def test_published_event_decides_its_own_visibility() -> None:
    # The catalog still says private (a stale answer): the event's own word wins and is cached.
    hub = hub_with({("alice", "m"): ModelAccess("alice", "acme", Visibility.PRIVATE)}, ttl=3600)
    with hub.subscribe(BOB, EventFilter()) as bob:
        await hub.deliver(published("alice", "public"))
        await hub.deliver(uploaded("alice", version=2))  # cached as public now
    assert drained(bob.queue) == ["alice/published", "alice/uploaded"]


async def test_filters_narrow_to_one_model() -> None:
    public = ModelAccess("alice", None, Visibility.PUBLIC)
    hub = hub_with({("alice", "m"): public, ("alice", "n"): public})
    with hub.subscribe(BOB, EventFilter(owner="alice", name="n")) as bob:
        await hub.deliver(uploaded("alice", "m"))
        await hub.deliver(uploaded("alice", "n"))
    assert drained(bob.queue) == ["alice/uploaded"]


async def test_redelivered_event_is_sent_once() -> None:
    hub = hub_with({})
    event = uploaded("alice")
    with hub.subscribe(ALICE, EventFilter()) as alice:
        await hub.deliver(event)
        await hub.deliver(event)
    assert drained(alice.queue) == ["alice/uploaded"]


async def test_resume_after_last_event_id_replays_only_later_visible_events() -> None:
    hub = hub_with({})
    first, second, others = uploaded("alice", "a"), uploaded("alice", "b"), uploaded("bob")
    for event in (first, others, second):
        await hub.deliver(event)
    with hub.subscribe(ALICE, EventFilter(), last_event_id=first.id) as alice:
        assert alice.resumed
        queued = alice.queue.get_nowait()
        assert queued is not None
        assert queued.id == second.id
        assert alice.queue.empty()
    with hub.subscribe(ALICE, EventFilter(), last_event_id="forgotten") as late:
        assert not late.resumed
        assert late.queue.empty()


async def test_replay_buffer_is_bounded() -> None:
    hub = hub_with({}, replay=2)
    events = [uploaded("alice", f"m{i}") for i in range(3)]
    for event in events:
        await hub.deliver(event)
    with hub.subscribe(ALICE, EventFilter(), last_event_id=events[0].id) as alice:
        assert not alice.resumed  # pushed out of the buffer


async def test_slow_subscriber_is_disconnected_not_buffered_forever() -> None:
    hub = hub_with({})
    with hub.subscribe(ALICE, EventFilter()) as alice:
        capacity = alice.queue.maxsize
        for index in range(capacity + 1):
            await hub.deliver(uploaded("alice", f"m{index}"))
        assert hub.subscriber_count == 0
        items = drained(alice.queue)
    assert items[-1] == "END"
    assert len(items) == capacity  # bounded: the end marker took the last slot


async def test_close_ends_every_stream() -> None:
    hub = hub_with({})
    with hub.subscribe(ALICE, EventFilter()) as alice:
        hub.close()
        assert alice.queue.get_nowait() is None


async def test_sse_message_carries_the_cloudevent_json() -> None:
    hub = hub_with({})
    event = uploaded("alice")
    with hub.subscribe(ALICE, EventFilter()) as alice:
        await hub.deliver(event)
        sent = alice.queue.get_nowait()
    assert sent is not None
    message = format_sse(sent)
    lines = message.splitlines()
    assert lines[0] == f"id: {event.id}"
    assert lines[1] == "event: modelbay.model.uploaded.v1"
    assert Envelope.model_validate_json(lines[2].removeprefix("data: ")).id == event.id
    assert message.endswith("\n\n")
