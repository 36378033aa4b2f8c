"""Operator tools for dead letters on RabbitMQ: look at them, and replay them.

    python -m modelbay_common.bus dead-letters catalog.model-status
    python -m modelbay_common.bus replay catalog.model-status [--limit N]

Replaying moves each message from `<consumer>.dlq` back to the consumer's queue `<consumer>`
with its attempt count reset, so the consumer gets the full retry budget again. Fix the cause
(a bug, a missing row, an unreachable service) before replaying, or it lands in the DLQ again.
"""

from __future__ import annotations

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue

from modelbay_common.bus.port import DeadLetter, validate_consumer_name
from modelbay_common.bus.rabbitmq_topology import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    dead_letter_from,
    dead_letter_queue_name,
    forwarded_message,
)

__all__ = [
    "count_dead_letters",
    "count_messages",
    "peek_dead_letters",
    "replay_dead_letters",
    "replay_dead_letters_on",
]

_FAILURE_HEADERS = {ATTEMPTS_HEADER, ERROR_HEADER, FAILED_AT_HEADER}


async def _dead_letter_queue(channel: AbstractChannel, consumer: str) -> AbstractQueue:
    name = dead_letter_queue_name(validate_consumer_name(consumer))
    try:
        # passive: a typo in the consumer name must not create an empty queue.
        return await channel.declare_queue(name, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity:
        raise LookupError(
            f"no dead-letter queue {name!r}: consumer {consumer!r} never subscribed on this broker"
        ) from None


async def count_dead_letters(connection: AbstractConnection, consumer: str) -> int:
    """How many messages wait in `consumer`'s dead-letter queue (a passive declare; 0 if none)."""
    async with connection.channel() as channel:
        try:
            queue = await _dead_letter_queue(channel, consumer)
        except LookupError:
            return 0
        return queue.declaration_result.message_count or 0


async def count_messages(connection: AbstractConnection, consumer: str) -> int:
    """How many messages wait in `consumer`'s own queue (a passive declare; 0 if none)."""
    async with connection.channel() as channel:
        try:
            queue = await channel.declare_queue(validate_consumer_name(consumer), passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            return 0
        return queue.declaration_result.message_count or 0


async def peek_dead_letters(
    connection: AbstractConnection, consumer: str, limit: int = 100
) -> list[DeadLetter]:
    """The first `limit` dead letters of `consumer`; they stay in the queue, in order."""
    letters: list[DeadLetter] = []
    # Messages fetched without ack go back to the queue when this channel closes.
    async with connection.channel() as channel:
        queue = await _dead_letter_queue(channel, consumer)
        while len(letters) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            letters.append(dead_letter_from(consumer, message))
    return letters


async def replay_dead_letters_on(
    connection: AbstractConnection, consumer: str, limit: int | None = None
) -> int:
    """Move up to `limit` (default: all present now) dead letters back to `consumer`'s queue."""
    replayed = 0
    async with connection.channel(publisher_confirms=True, on_return_raises=True) as channel:
        queue = await _dead_letter_queue(channel, consumer)
        # Only what is there now: an event that fails again while we replay must not loop.
        present = queue.declaration_result.message_count or 0
        budget = present if limit is None else min(limit, present)
        while replayed < budget:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            headers = {
                key: value
                for key, value in (message.headers or {}).items()
                if key not in _FAILURE_HEADERS
                and not key.startswith("x-death")
                and isinstance(value, str | int)
            }
            copy = forwarded_message(message, headers)
            await channel.default_exchange.publish(copy, routing_key=consumer, mandatory=True)
            await message.ack()  # only after the broker confirmed the copy
            replayed += 1
    return replayed


async def replay_dead_letters(amqp_url: str, consumer: str, limit: int | None = None) -> int:
    """Replay `consumer`'s dead letters over a connection of its own (operator entry point)."""
    connection = await aio_pika.connect(amqp_url, client_properties={"connection_name": "replay"})
    async with connection:
        return await replay_dead_letters_on(connection, consumer, limit)
