"""Queue names, declarations and message properties of the RabbitMQ adapter.

Per consumer `c` bound to exchange `modelbay.events` (topic, durable):

- `c`            durable queue bound with the consumer's event-type patterns;
- `c.retry.<N>ms` one durable queue per back-off delay, `x-message-ttl` N and dead-lettering
                 back to `c` through the default exchange (a queue per delay, because a per-message
                 TTL only expires at the head of a queue and a long delay would hold up short ones);
- `c.dlq`        durable dead-letter queue an operator inspects and replays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractMessage, AbstractQueue

from modelbay_common.bus.port import DeadLetter, RetryPolicy
from modelbay_common.events import CLOUDEVENTS_CONTENT_TYPE, Envelope

__all__ = [
    "ATTEMPTS_HEADER",
    "ERROR_HEADER",
    "FAILED_AT_HEADER",
    "dead_letter_from",
    "dead_letter_queue_name",
    "declare_consumer_queues",
    "declare_events_exchange",
    "event_message",
    "failed_attempts_of",
    "failure_headers",
    "forwarded_message",
    "retry_queue_name",
]

ATTEMPTS_HEADER = "x-modelbay-attempts"
ERROR_HEADER = "x-modelbay-error"
FAILED_AT_HEADER = "x-modelbay-failed-at"
_MAX_ERROR_CHARS = 2000


def retry_queue_name(consumer: str, delay_seconds: float) -> str:
    return f"{consumer}.retry.{_milliseconds(delay_seconds)}ms"


def dead_letter_queue_name(consumer: str) -> str:
    return f"{consumer}.dlq"


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


async def declare_events_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


async def declare_consumer_queues(
    channel: AbstractChannel,
    exchange: AbstractExchange,
    consumer: str,
    patterns: Iterable[str],
    retry: RetryPolicy,
) -> AbstractQueue:
    """Declare the consumer's main, retry and dead-letter queues; return the main queue."""
    queue = await channel.declare_queue(consumer, durable=True)
    for pattern in patterns:
        await queue.bind(exchange, routing_key=pattern)
    for delay in _distinct_delays(retry):
        await channel.declare_queue(
            retry_queue_name(consumer, delay),
            durable=True,
            arguments={
                "x-message-ttl": _milliseconds(delay),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": consumer,
            },
        )
    await channel.declare_queue(dead_letter_queue_name(consumer), durable=True)
    return queue


def _distinct_delays(retry: RetryPolicy) -> list[float]:
    delays = {retry.delay_after(attempt) for attempt in range(1, retry.max_attempts)}
    return sorted(delays)


def event_message(envelope: Envelope) -> aio_pika.Message:
    """A persistent AMQP message carrying the envelope in CloudEvents structured mode."""
    return aio_pika.Message(
        envelope.to_json(),
        content_type=CLOUDEVENTS_CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=envelope.id,
        type=envelope.type,
        timestamp=envelope.time,
        app_id=envelope.source,
    )


def forwarded_message(
    original: AbstractMessage, headers: Mapping[str, str | int]
) -> aio_pika.Message:
    """A persistent copy of `original` (body and properties) with `headers` replacing its own."""
    return aio_pika.Message(
        original.body,
        headers=dict(headers),
        content_type=original.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=original.message_id,
        type=original.type,
        timestamp=original.timestamp,
        app_id=original.app_id,
    )


def failed_attempts_of(message: AbstractMessage) -> int:
    value = (message.headers or {}).get(ATTEMPTS_HEADER, 0)
    try:
        return int(str(value.decode() if isinstance(value, bytes) else value))
    except ValueError:
        return 0


def failure_headers(failed_attempts: int, error: str) -> dict[str, str | int]:
    """The modelbay headers of a message that failed `failed_attempts` times with `error`."""
    return {
        ATTEMPTS_HEADER: failed_attempts,
        ERROR_HEADER: error[:_MAX_ERROR_CHARS],
        FAILED_AT_HEADER: datetime.now(UTC).isoformat(),
    }


def _header_text(message: AbstractMessage, name: str) -> str | None:
    value = (message.headers or {}).get(name)
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def dead_letter_from(consumer: str, message: AbstractMessage) -> DeadLetter:
    failed_at_text = _header_text(message, FAILED_AT_HEADER)
    failed_at = datetime.fromisoformat(failed_at_text) if failed_at_text else datetime.now(UTC)
    return DeadLetter(
        consumer=consumer,
        body=message.body,
        attempts=failed_attempts_of(message),
        error=_header_text(message, ERROR_HEADER) or "",
        failed_at=failed_at,
        event_id=message.message_id,
        event_type=message.type,
        headers={
            key: text
            for key in (message.headers or {})
            if not key.startswith("x-death") and (text := _header_text(message, key)) is not None
        },
    )
