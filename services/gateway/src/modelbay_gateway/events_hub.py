"""Fan-out of lifecycle events to Server-Sent-Event subscribers, filtered by visibility.

The gateway's bus consumer hands every event to `EventHub.deliver`. The hub decides once who
may see it (`visibility.py`), keeps the newest events in a ring buffer so a client that
reconnects with `Last-Event-ID` misses nothing recent, and puts the event on the queue of every
subscriber allowed to see it. A subscriber that cannot keep up is disconnected (its queue is
bounded) and resumes with `Last-Event-ID`, rather than making the gateway buffer without limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from modelbay_common.access import Caller, ModelAccess, Visibility, can_see
from modelbay_common.events import Envelope, Event, ModelUploaded, Published

from modelbay_gateway.visibility import VisibilityCache

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE_SIZE = 1000


@dataclass(frozen=True)
class SentEvent:
    id: str
    type: str
    json: str
    owner: str
    name: str
    version: int
    access: ModelAccess


@dataclass(frozen=True)
class EventFilter:
    """Optional narrowing asked for by the subscriber (`?owner=&name=&version=`)."""

    owner: str | None = None
    name: str | None = None
    version: int | None = None

    def matches(self, event: SentEvent) -> bool:
        return (
            (self.owner is None or self.owner == event.owner)
            and (self.name is None or self.name == event.name)
            and (self.version is None or self.version == event.version)
        )


@dataclass(eq=False)
class Subscription:
    caller: Caller
    filter: EventFilter
    queue: asyncio.Queue[SentEvent | None] = field(
        default_factory=lambda: asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
    )
    resumed: bool = True  # False when Last-Event-ID was no longer in the buffer

    def wants(self, event: SentEvent) -> bool:
        return self.filter.matches(event) and can_see(self.caller, event.access)

    def offer(self, event: SentEvent | None) -> bool:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True


class EventHub:
    def __init__(self, visibility: VisibilityCache, replay_size: int) -> None:
        self._visibility = visibility
        self._replay_size = replay_size
        self._recent: OrderedDict[str, SentEvent] = OrderedDict()
        self._subscribers: set[Subscription] = set()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def deliver(self, envelope: Envelope) -> None:
        """The bus handler: remember the event and pass it to every subscriber who may see it."""
        if envelope.id in self._recent:
            return  # redelivered (at-least-once); subscribers already have it
        if not isinstance(envelope.data, Event):
            return  # not about a model (an organisation's event): the stream is of models
        event = await self._sent_event(envelope)
        self._remember(event)
        for subscription in list(self._subscribers):
            if subscription.wants(event) and not subscription.offer(event):
                log.warning("SSE subscriber of %s too slow; disconnecting it", subscription.caller)
                self._drop(subscription)

    @contextmanager
    def subscribe(
        self, caller: Caller, event_filter: EventFilter, last_event_id: str | None = None
    ) -> Iterator[Subscription]:
        subscription = Subscription(caller, event_filter)
        if last_event_id:
            subscription.resumed = self._replay(subscription, last_event_id)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    def close(self) -> None:
        """End every stream (shutdown): each subscriber's generator sees the end marker."""
        for subscription in list(self._subscribers):
            self._drop(subscription)

    def _drop(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        while not subscription.offer(None):
            subscription.queue.get_nowait()  # make room for the end marker

    def _replay(self, subscription: Subscription, last_event_id: str) -> bool:
        if last_event_id not in self._recent:
            return False
        events = list(self._recent.values())
        start = list(self._recent).index(last_event_id) + 1
        for event in events[start:]:
            if subscription.wants(event):
                subscription.offer(event)
        return True

    def _remember(self, event: SentEvent) -> None:
        if self._replay_size == 0:
            return
        self._recent[event.id] = event
        while len(self._recent) > self._replay_size:
            self._recent.popitem(last=False)

    async def _sent_event(self, envelope: Envelope) -> SentEvent:
        data = envelope.data
        assert isinstance(data, Event)  # deliver() passes only the events about a model
        if isinstance(data, Published):
            # The event is the newest word on visibility; the organisation comes from the catalog.
            known = await self._visibility.access(data.owner, data.name)
            access = ModelAccess(data.owner, known.owner_org, Visibility(data.visibility))
            self._visibility.remember(data.owner, data.name, access)
        else:
            org = data.owner_org if isinstance(data, ModelUploaded) else None
            access = await self._visibility.access(data.owner, data.name, owner_org=org)
        return SentEvent(
            id=envelope.id,
            type=envelope.type,
            json=envelope.model_dump_json(),
            owner=data.owner,
            name=data.name,
            version=data.version,
            access=access,
        )


def format_sse(event: SentEvent) -> str:
    """One SSE message; `data:` is the CloudEvent JSON (one line: JSON escapes newlines)."""
    return f"id: {event.id}\nevent: {event.type}\ndata: {event.json}\n\n"
