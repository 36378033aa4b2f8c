"""RabbitMQ adapter against a real broker: confirms, round trip, retries, dead letters, replay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aio_pika
import pytest
from modelbay_common.bus import DeadLetter, RetryPolicy
from modelbay_common.bus.rabbitmq import RabbitMqBus
from modelbay_common.bus.rabbitmq_admin import replay_dead_letters
from modelbay_common.bus.rabbitmq_topology import dead_letter_queue_name, retry_queue_name
from modelbay_common.events import (
    CLOUDEVENTS_CONTENT_TYPE,
    DependencyResolutionFailed,
    Envelope,
    ImageBuildFailed,
    envelope,
)

FAST_RETRY = RetryPolicy(max_attempts=3, delays=(0.05, 0.1))
WAIT = 30.0  # a guard against hanging, never an assertion on speed


def failed(version: int = 1) -> Envelope:
    event = DependencyResolutionFailed(owner="o", name="m", version=version, reason="r")
    return envelope(event, source="/test")


@dataclass
class Broker:
    """Unique exchange and consumer names per test, deleted afterwards."""

    url: str
    exchange: str = field(default_factory=lambda: f"test.events.{uuid.uuid4().hex[:10]}")
    consumers: list[str] = field(default_factory=list)
    buses: list[RabbitMqBus] = field(default_factory=list)

    def consumer(self, role: str) -> str:
        name = f"test.{uuid.uuid4().hex[:10]}.{role}"
        self.consumers.append(name)
        return name

    def bus(self, retry: RetryPolicy = FAST_RETRY, prefetch: int = 4) -> RabbitMqBus:
        bus = RabbitMqBus(self.url, exchange=self.exchange, retry=retry, prefetch=prefetch)
        self.buses.append(bus)
        return bus

    async def queue_depth(self, queue: str) -> int:
        connection = await aio_pika.connect(self.url)
        async with connection, connection.channel() as channel:
            declared = await channel.declare_queue(queue, passive=True)
            return declared.declaration_result.message_count or 0

    async def cleanup(self) -> None:
        for bus in self.buses:
            await bus.close()
        connection = await aio_pika.connect(self.url)
        async with connection, connection.channel() as channel:
            for consumer in self.consumers:
                names = [consumer, dead_letter_queue_name(consumer)]
                names += [retry_queue_name(consumer, delay) for delay in FAST_RETRY.delays]
                for name in names:
                    await channel.queue_delete(name)
            await channel.exchange_delete(self.exchange)


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[Broker]:
    found = Broker(amqp_url)
    yield found
    await found.cleanup()


def recording_handler(
    received: asyncio.Queue[Envelope],
) -> Callable[[Envelope], Awaitable[None]]:
    async def handler(env: Envelope) -> None:
        await received.put(env)

    return handler


async def eventually_dead_lettered(bus: RabbitMqBus, consumer: str) -> list[DeadLetter]:
    """Poll the DLQ until something arrives (moving a message there is asynchronous)."""
    for _ in range(int(WAIT / 0.05)):
        if letters := await bus.dead_letters(consumer):
            return letters
        await asyncio.sleep(0.05)
    pytest.fail(f"nothing reached the dead-letter queue of {consumer} within {WAIT:.0f} s")


async def test_publish_returns_once_the_broker_holds_the_persistent_message(
    broker: Broker,
) -> None:
    consumer = broker.consumer("confirms")
    declaring = broker.bus()
    received: asyncio.Queue[Envelope] = asyncio.Queue()
    await declaring.subscribe(
        consumer, [DependencyResolutionFailed.type], recording_handler(received)
    )
    await declaring.start()
    await declaring.close()  # the durable queue stays, nobody consumes it
    producer = broker.bus()
    await producer.start()
    sent = failed()

    await producer.publish(sent)

    assert await broker.queue_depth(consumer) == 1  # confirmed: already queued on return
    connection = await aio_pika.connect(broker.url)
    async with connection, connection.channel() as channel:
        queue = await channel.declare_queue(consumer, passive=True)
        message = await queue.get(no_ack=False)
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.content_type == CLOUDEVENTS_CONTENT_TYPE
        assert message.message_id == sent.id
        assert message.type == DependencyResolutionFailed.type
        await message.nack(requeue=True)


async def test_round_trip_delivers_the_event_and_acks_it(broker: Broker) -> None:
    consumer = broker.consumer("roundtrip")
    bus = broker.bus()
    received: asyncio.Queue[Envelope] = asyncio.Queue()
    await bus.subscribe(consumer, [DependencyResolutionFailed.type], recording_handler(received))
    await bus.start()
    sent = failed()

    # Not bound to this consumer; were it routed here it would arrive first (FIFO queue).
    await bus.publish(
        envelope(ImageBuildFailed(owner="o", name="m", version=1, reason="r"), source="/t")
    )
    await bus.publish(sent)
    async with asyncio.timeout(WAIT):
        got = await received.get()
    await bus.close()

    assert got == sent
    assert await broker.queue_depth(consumer) == 0  # acked, not waiting for redelivery


async def test_competing_consumers_share_one_queue(broker: Broker) -> None:
    consumer = broker.consumer("competing")
    received: asyncio.Queue[Envelope] = asyncio.Queue()
    for _ in range(2):
        replica = broker.bus()
        await replica.subscribe(
            consumer, [DependencyResolutionFailed.type], recording_handler(received)
        )
        await replica.start()
    sent = [failed(version) for version in range(1, 11)]

    for env in sent:
        await broker.buses[0].publish(env)
    async with asyncio.timeout(WAIT):
        got = [await received.get() for _ in sent]

    assert sorted(env.id for env in got) == sorted(env.id for env in sent)  # each exactly once


async def test_failing_handler_is_retried_then_dead_lettered_and_replay_brings_it_back(
    broker: Broker, amqp_url: str
) -> None:
    consumer = broker.consumer("dlq")
    bus = broker.bus()
    attempts: list[str] = []
    handled: asyncio.Queue[Envelope] = asyncio.Queue()
    broken = True

    async def handler(env: Envelope) -> None:
        attempts.append(env.id)
        if broken:
            raise RuntimeError("catalog row missing")
        await handled.put(env)

    await bus.subscribe(consumer, [DependencyResolutionFailed.type], handler)
    await bus.start()
    sent = failed()
    await bus.publish(sent)

    letters = await eventually_dead_lettered(bus, consumer)
    assert attempts == [sent.id] * FAST_RETRY.max_attempts
    assert [(letter.event_id, letter.attempts) for letter in letters] == [(sent.id, 3)]
    assert letters[0].error == "RuntimeError: catalog row missing"
    assert await broker.queue_depth(dead_letter_queue_name(consumer)) == 1  # peeking keeps it

    broken = False
    assert await replay_dead_letters(amqp_url, consumer) == 1
    async with asyncio.timeout(WAIT):
        replayed = await handled.get()

    assert replayed == sent
    assert await bus.dead_letters(consumer) == []


async def test_an_unreadable_message_goes_straight_to_the_dead_letters(broker: Broker) -> None:
    consumer = broker.consumer("garbage")
    bus = broker.bus()
    calls: list[Envelope] = []

    async def handler(env: Envelope) -> None:
        calls.append(env)

    await bus.subscribe(consumer, [DependencyResolutionFailed.type], handler)
    await bus.start()
    connection = await aio_pika.connect(broker.url)
    async with connection, connection.channel() as channel:
        exchange = await channel.get_exchange(broker.exchange)
        await exchange.publish(
            aio_pika.Message(b"{not json", message_id="garbage-1"),
            routing_key=DependencyResolutionFailed.type,
        )

    letters = await eventually_dead_lettered(bus, consumer)

    assert calls == []
    assert letters[0].event_id == "garbage-1"
    assert "not valid JSON" in letters[0].error


async def test_replaying_an_unknown_consumer_says_so(broker: Broker, amqp_url: str) -> None:
    with pytest.raises(LookupError, match="never subscribed"):
        await replay_dead_letters(amqp_url, f"test.{uuid.uuid4().hex[:10]}.nobody")
