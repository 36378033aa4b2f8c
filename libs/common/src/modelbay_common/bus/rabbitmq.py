"""RabbitMQ adapter of the bus port (aio-pika), for the stack mode.

Topology and header names are in `rabbitmq_topology`; operator tools (inspect and replay dead
letters) in `rabbitmq_admin`. Delivery is at-least-once: a message is acknowledged only after
its handler returned, or after it was safely (publisher-confirmed) moved to a retry or
dead-letter queue. A crash in between leaves it unacked, and RabbitMQ delivers it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from modelbay_common.bus import rabbitmq_admin
from modelbay_common.bus.port import (
    EVENTS_EXCHANGE,
    BusNotStartedError,
    DeadLetter,
    Handler,
    RetryPolicy,
    validate_consumer_name,
)
from modelbay_common.bus.rabbitmq_topology import (
    dead_letter_queue_name,
    declare_consumer_queues,
    declare_events_exchange,
    event_message,
    failed_attempts_of,
    failure_headers,
    forwarded_message,
    retry_queue_name,
)
from modelbay_common.events import Envelope, EventDecodeError, parse_event
from modelbay_common.metrics import platform_metrics

__all__ = ["RabbitMqBus"]


log = logging.getLogger(__name__)


@dataclass
class _Subscription:
    consumer: str
    patterns: tuple[str, ...]
    handler: Handler
    channel: AbstractChannel | None = None
    queue: AbstractQueue | None = None
    consumer_tag: str | None = None


class RabbitMqBus:
    """Bus and DeadLetterAdmin over RabbitMQ: topic exchange, publisher confirms, retry queues."""

    def __init__(
        self,
        url: str,
        *,
        exchange: str = EVENTS_EXCHANGE,
        prefetch: int = 16,
        retry: RetryPolicy | None = None,
        shutdown_grace_seconds: float = 30.0,
        connection_name: str = "modelbay",
    ) -> None:
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._url = url
        self._exchange_name = exchange
        self._prefetch = prefetch
        self._retry = retry or RetryPolicy()
        self._shutdown_grace = shutdown_grace_seconds
        self._connection_name = connection_name
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._publish_channel: AbstractChannel | None = None
        self._subscriptions: list[_Subscription] = []
        self._in_flight: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        if self._connection is not None:
            return
        # connect_robust reconnects by itself and re-declares channels, queues and consumers.
        self._connection = await aio_pika.connect_robust(
            self._url, client_properties={"connection_name": self._connection_name}
        )
        channel = await self._connection.channel(publisher_confirms=True)
        self._publish_channel = channel
        self._exchange = await declare_events_exchange(channel, self._exchange_name)
        for subscription in self._subscriptions:
            await self._consume(subscription)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        for subscription in self._subscriptions:
            if subscription.queue is not None and subscription.consumer_tag is not None:
                await subscription.queue.cancel(subscription.consumer_tag)
                subscription.consumer_tag = None
        if self._in_flight:
            # Let running handlers finish and ack; what does not finish is redelivered later.
            await asyncio.wait(set(self._in_flight), timeout=self._shutdown_grace)
        await connection.close()
        self._exchange = None
        self._publish_channel = None

    async def publish(self, envelope: Envelope) -> None:
        # mandatory=False: an event nobody subscribed to yet is not an error for the producer.
        await self._require_exchange().publish(
            event_message(envelope), routing_key=envelope.type, mandatory=False
        )

    async def subscribe(self, consumer: str, event_types: Iterable[str], handler: Handler) -> None:
        patterns = tuple(event_types)
        if not patterns:
            raise ValueError("subscribe() needs at least one event type")
        subscription = _Subscription(validate_consumer_name(consumer), patterns, handler)
        self._subscriptions.append(subscription)
        if self._connection is not None:
            await self._consume(subscription)

    async def dead_letters(self, consumer: str, limit: int = 100) -> list[DeadLetter]:
        return await rabbitmq_admin.peek_dead_letters(self._require_connection(), consumer, limit)

    def liveness_problem(self) -> str | None:
        """Why a consumer is gone for good (for `/healthz`); a broker outage is not one: the
        robust connection restores channels and consumers by itself when it reconnects."""
        if self._connection is None:
            return "the RabbitMQ bus is not started"
        gone = [s.consumer for s in self._subscriptions if s.consumer_tag is None]
        return f"not consuming: {', '.join(gone)}" if gone else None

    def connection_problem(self) -> str | None:
        """Why the broker cannot be reached now (for `/readyz`), or None."""
        if self._connection is None:
            return "the RabbitMQ bus is not started"
        # A robust connection is "closed" only once we close it; while it reconnects after
        # the broker went away it is open but not connected (found by the private-broker test).
        if self._connection.is_closed or not self._connection.connected.is_set():
            return "the broker connection is down (reconnecting)"
        # Channels are restored just after the connection: until then a publish still fails.
        channels = [self._publish_channel, *(s.channel for s in self._subscriptions)]
        if any(channel is not None and channel.is_closed for channel in channels):
            return "the broker connection is back, its channels are being restored"
        return None

    async def queue_depth(self, consumer: str) -> int:
        return await rabbitmq_admin.count_messages(self._require_connection(), consumer)

    async def dead_letter_count(self, consumer: str) -> int:
        return await rabbitmq_admin.count_dead_letters(self._require_connection(), consumer)

    async def replay_dead_letters(self, consumer: str, limit: int | None = None) -> int:
        return await rabbitmq_admin.replay_dead_letters_on(
            self._require_connection(), consumer, limit
        )

    def _require_connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise BusNotStartedError("RabbitMqBus is not started; call start() first")
        return self._connection

    def _require_exchange(self) -> AbstractExchange:
        if self._exchange is None:
            raise BusNotStartedError("RabbitMqBus is not started; call start() first")
        return self._exchange

    async def _consume(self, subscription: _Subscription) -> None:
        # One channel per subscription: its own prefetch window, and a failing channel
        # (e.g. a queue declared with other arguments) does not take the others down.
        # on_return_raises: moving a message to a retry/dead-letter queue that does not exist
        # must fail (and leave the message unacked) rather than drop it silently.
        channel = await self._require_connection().channel(
            publisher_confirms=True, on_return_raises=True
        )
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await declare_consumer_queues(
            channel,
            self._require_exchange(),
            subscription.consumer,
            subscription.patterns,
            self._retry,
        )
        subscription.channel, subscription.queue = channel, queue

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._track(self._handle(subscription, channel, message))

        subscription.consumer_tag = await queue.consume(on_message, no_ack=False)

    async def _track(self, work: Coroutine[Any, Any, None]) -> None:
        """Run one delivery, remembered so close() can wait for it to finish."""
        task = asyncio.current_task()
        if task is None:  # aio-pika runs every delivery in a task of its own
            await work
            return
        self._in_flight.add(task)
        try:
            await work
        finally:
            self._in_flight.discard(task)

    async def _handle(
        self,
        subscription: _Subscription,
        channel: AbstractChannel,
        message: AbstractIncomingMessage,
    ) -> None:
        if message.redelivered or failed_attempts_of(message) > 0:
            platform_metrics().event_redeliveries.labels(subscription.consumer).inc()
        try:
            envelope = parse_event(message.body)
        except EventDecodeError as exc:
            # An unreadable body will not become readable by retrying: straight to the DLQ.
            await self._dead_letter(subscription.consumer, channel, message, str(exc))
            return
        try:
            await subscription.handler(envelope)
        except Exception as exc:
            await self._after_failure(subscription.consumer, channel, message, exc)
            return
        await message.ack()

    async def _after_failure(
        self,
        consumer: str,
        channel: AbstractChannel,
        message: AbstractIncomingMessage,
        exc: Exception,
    ) -> None:
        failed_attempts = failed_attempts_of(message) + 1
        error = f"{type(exc).__name__}: {exc}"
        if self._retry.exhausted(failed_attempts):
            log.error(
                "consumer %s dead-lettered event %s after %d attempts: %s",
                consumer,
                message.message_id,
                failed_attempts,
                error,
            )
            await self._dead_letter(consumer, channel, message, error, failed_attempts)
            return
        delay = self._retry.delay_after(failed_attempts)
        log.warning(
            "consumer %s failed on event %s (attempt %d), retrying in %.1fs: %s",
            consumer,
            message.message_id,
            failed_attempts,
            delay,
            error,
        )
        await self._move(
            channel, message, retry_queue_name(consumer, delay), failed_attempts, error
        )

    async def _dead_letter(
        self,
        consumer: str,
        channel: AbstractChannel,
        message: AbstractIncomingMessage,
        error: str,
        failed_attempts: int | None = None,
    ) -> None:
        attempts = failed_attempts if failed_attempts is not None else failed_attempts_of(message)
        await self._move(channel, message, dead_letter_queue_name(consumer), attempts, error)

    async def _move(
        self,
        channel: AbstractChannel,
        message: AbstractIncomingMessage,
        queue_name: str,
        failed_attempts: int,
        error: str,
    ) -> None:
        """Publish a copy to `queue_name` (confirmed), then ack the original."""
        copy = forwarded_message(message, failure_headers(failed_attempts, error))
        try:
            await channel.default_exchange.publish(copy, routing_key=queue_name, mandatory=True)
        except Exception:
            log.exception("could not move event %s to %s", message.message_id, queue_name)
            # Not moved: give it back to the queue so it is tried again rather than lost.
            await message.nack(requeue=True)
            return
        await message.ack()
