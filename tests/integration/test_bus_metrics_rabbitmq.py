"""Issue 15: the RabbitMQ adapter's metrics on a real broker: redeliveries counted, and the DLQ
depth read by a passive declare (what `modelbay_dlq_messages` shows on a scrape)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
from modelbay_common.bus import RetryPolicy
from modelbay_common.bus.rabbitmq import RabbitMqBus
from modelbay_common.bus.rabbitmq_topology import dead_letter_queue_name, retry_queue_name
from modelbay_common.events import DependencyResolutionFailed, Envelope, envelope
from modelbay_common.metrics import platform_metrics
from modelbay_common.observability import dead_letter_probe

RETRY = RetryPolicy(max_attempts=2, delays=(0.05,))


@pytest.fixture
async def names(amqp_url: str) -> AsyncIterator[tuple[str, str]]:
    token = uuid.uuid4().hex[:10]
    exchange, consumer = f"test.events.{token}", f"test.{token}.metrics"
    yield exchange, consumer
    connection = await aio_pika.connect(amqp_url)
    async with connection, connection.channel() as channel:
        for queue in (consumer, dead_letter_queue_name(consumer), retry_queue_name(consumer, 0.05)):
            await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


async def test_redeliveries_are_counted_and_the_dead_letter_depth_is_read(
    amqp_url: str, names: tuple[str, str]
) -> None:
    exchange, consumer = names
    bus = RabbitMqBus(amqp_url, exchange=exchange, retry=RETRY)
    attempts: asyncio.Queue[str] = asyncio.Queue()

    async def always_fails(event: Envelope) -> None:
        await attempts.put(event.id)
        raise RuntimeError("the handler always fails")

    redeliveries = platform_metrics().event_redeliveries.labels(consumer)
    before = redeliveries._value.get()  # prometheus-client keeps no public reader
    await bus.subscribe(consumer, ["modelbay.#"], always_fails)
    await bus.start()
    try:
        assert await bus.dead_letter_count(consumer) == 0
        event = DependencyResolutionFailed(owner="o", name="m", version=1, reason="r")
        await bus.publish(envelope(event, source="/test"))
        for _ in range(RETRY.max_attempts):
            await asyncio.wait_for(attempts.get(), timeout=30)
        for _ in range(300):  # the move to the DLQ follows the last failure
            if await bus.dead_letter_count(consumer) == 1:
                break
            await asyncio.sleep(0.05)
        assert await bus.dead_letter_count(consumer) == 1
        assert redeliveries._value.get() - before == RETRY.max_attempts - 1

        probe = dead_letter_probe(bus, [consumer])
        assert probe is not None
        await probe()
        assert platform_metrics().dead_letters.labels(consumer)._value.get() == 1
    finally:
        await bus.close()


async def test_a_consumer_that_never_subscribed_has_no_dead_letters(
    amqp_url: str, names: tuple[str, str]
) -> None:
    exchange, never_subscribed = names
    bus = RabbitMqBus(amqp_url, exchange=exchange)
    await bus.start()
    try:
        assert await bus.dead_letter_count(never_subscribed) == 0
    finally:
        await bus.close()
