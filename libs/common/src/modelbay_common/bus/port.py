"""The bus port: what services need from a message broker, whichever adapter runs it.

Semantics every adapter keeps (see docs/events.md):

- `publish` returns only once the broker accepted the event (publisher confirm); an exception
  means the event may not have been delivered and the caller (the outbox relay) retries.
- Each consumer name owns one queue; several processes subscribing with the same name share
  it (competing consumers). Different names each receive their own copy.
- A delivery is acknowledged only after the handler returned, so a handler that commits its own
  transaction and then crashes sees the event again: delivery is at-least-once and handlers are
  made idempotent with `modelbay_common.inbox.idempotent`.
- A handler that raises is retried with back-off (`RetryPolicy`); after the last attempt the
  event goes to the consumer's dead-letter queue, from where an operator replays it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from modelbay_common.events import Envelope

__all__ = [
    "EVENTS_EXCHANGE",
    "Bus",
    "BusNotStartedError",
    "DeadLetter",
    "DeadLetterAdmin",
    "Handler",
    "RetryPolicy",
    "routing_key_matches",
    "validate_consumer_name",
]

EVENTS_EXCHANGE = "modelbay.events"
"""The durable topic exchange every service publishes to (routing key = event type)."""

Handler = Callable[[Envelope], Awaitable[None]]
"""An event handler; it returns when the event is fully handled (its transaction committed)."""

_CONSUMER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,200}$")


class BusNotStartedError(RuntimeError):
    """publish() or an admin call was made before start() or after close()."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing handler is tried, and how long to wait between tries.

    `delays[i]` is the wait in seconds before attempt i + 2; the last delay repeats when there
    are more attempts than delays. After `max_attempts` failures the event is dead-lettered.
    """

    max_attempts: int = 5
    delays: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not self.delays or any(delay < 0 for delay in self.delays):
            raise ValueError("delays must be a non-empty tuple of non-negative seconds")

    def delay_after(self, failed_attempts: int) -> float:
        """Seconds to wait after the `failed_attempts`-th failure before trying again."""
        return self.delays[min(failed_attempts, len(self.delays)) - 1]

    def exhausted(self, failed_attempts: int) -> bool:
        return failed_attempts >= self.max_attempts


@dataclass(frozen=True)
class DeadLetter:
    """An event that failed every attempt, as an operator sees it before replaying it."""

    consumer: str
    body: bytes
    attempts: int
    error: str
    failed_at: datetime
    event_id: str | None = None
    event_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Bus(Protocol):
    """Publish events and run handlers for them (the port; adapters are in this package)."""

    async def start(self) -> None:
        """Connect, declare the topology and start consuming for every subscription."""

    async def close(self) -> None:
        """Stop consuming (in-flight handlers finish or are cancelled unacked) and disconnect."""

    async def publish(self, envelope: Envelope) -> None:
        """Send `envelope`, routed by its type; returns after the broker confirmed it."""

    async def subscribe(self, consumer: str, event_types: Iterable[str], handler: Handler) -> None:
        """Run `handler` for every event whose type matches one of `event_types`.

        Patterns use AMQP topic syntax (`*` one word, `#` zero or more words), so
        `modelbay.model.#` receives every model event. Subscribing after start() starts
        consuming immediately.
        """


@runtime_checkable
class DeadLetterAdmin(Protocol):
    """Operator view of dead-lettered events (both adapters implement it)."""

    async def dead_letters(self, consumer: str, limit: int = 100) -> list[DeadLetter]:
        """The first `limit` dead letters of `consumer`, left in place."""
        ...

    async def replay_dead_letters(self, consumer: str, limit: int | None = None) -> int:
        """Move dead letters back to the consumer's queue with a fresh attempt count."""
        ...


def validate_consumer_name(consumer: str) -> str:
    """Consumer names become queue names; keep them to a safe, readable alphabet."""
    if not _CONSUMER_NAME.match(consumer):
        raise ValueError(
            f"invalid consumer name {consumer!r}: use letters, digits and . _ : - "
            "(e.g. 'catalog.model-status')"
        )
    return consumer


def routing_key_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: words split on '.', '*' is exactly one word, '#' zero or more."""
    return _words_match(tuple(pattern.split(".")), tuple(routing_key.split(".")))


def _words_match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_words_match(rest, words[skip:]) for skip in range(len(words) + 1))
    if not words:
        return False
    return head in ("*", words[0]) and _words_match(rest, words[1:])
