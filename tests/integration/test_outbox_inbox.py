"""Outbox and inbox against real PostgreSQL and RabbitMQ: at-least-once, end to end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aio_pika
import pytest
from modelbay_common.bus import InProcessBus, RetryPolicy
from modelbay_common.bus.rabbitmq import RabbitMqBus
from modelbay_common.bus.rabbitmq_topology import dead_letter_queue_name, retry_queue_name
from modelbay_common.db import SessionFactory, create_engine, session_factory, transaction
from modelbay_common.events import DependencyResolutionFailed, Envelope, envelope
from modelbay_common.inbox import idempotent
from modelbay_common.migrations import upgrade
from modelbay_common.outbox import OutboxRelay, add_to_outbox
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

SCHEMA = "onboarding"
RETRY = RetryPolicy(max_attempts=3, delays=(0.05,))
WAIT = 30.0  # a guard against hanging, never an assertion on speed


def failed(version: int = 1) -> Envelope:
    event = DependencyResolutionFailed(owner="o", name="m", version=version, reason="r")
    return envelope(event, source="/modelbay/onboarding")


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    sessions: SessionFactory

    async def scalar(self, sql: str) -> object:
        async with self.sessions() as session:
            return await session.scalar(text(sql))


@pytest.fixture
async def database(fresh_database_url: str) -> AsyncIterator[Database]:
    await upgrade(SCHEMA, fresh_database_url)
    engine = create_engine(fresh_database_url)
    # A stand-in for a service table whose change goes with the event (test-only DDL).
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"CREATE TABLE {SCHEMA}.state_changes (id text PRIMARY KEY, handled int DEFAULT 0)"
            )
        )
    yield Database(fresh_database_url, engine, session_factory(engine))
    await engine.dispose()


@dataclass
class Topology:
    url: str
    exchange: str
    consumer: str


@pytest.fixture
async def topology(amqp_url: str) -> AsyncIterator[Topology]:
    suffix = uuid.uuid4().hex[:10]
    found = Topology(amqp_url, f"test.events.{suffix}", f"test.{suffix}.outbox")
    yield found
    connection = await aio_pika.connect(amqp_url)
    async with connection, connection.channel() as channel:
        for name in (
            found.consumer,
            dead_letter_queue_name(found.consumer),
            retry_queue_name(found.consumer, RETRY.delays[0]),
        ):
            await channel.queue_delete(name)
        await channel.exchange_delete(found.exchange)


async def record_upload(session: AsyncSession, upload_id: str, event: Envelope) -> None:
    """A use case: a state change and its event, in the caller's transaction."""
    await session.execute(
        text(f"INSERT INTO {SCHEMA}.state_changes (id) VALUES (:id)"), {"id": upload_id}
    )
    await add_to_outbox(session, event, schema=SCHEMA)


async def started_consumer(topology: Topology) -> tuple[RabbitMqBus, asyncio.Queue[Envelope]]:
    received: asyncio.Queue[Envelope] = asyncio.Queue()

    async def handler(env: Envelope) -> None:
        await received.put(env)

    bus = RabbitMqBus(topology.url, exchange=topology.exchange, retry=RETRY)
    await bus.subscribe(topology.consumer, [DependencyResolutionFailed.type], handler)
    await bus.start()
    return bus, received


async def test_committed_event_is_delivered_by_a_relay_started_after_a_crash(
    database: Database, topology: Topology
) -> None:
    consumer_bus, received = await started_consumer(topology)
    sent = failed()
    async with transaction(database.sessions) as session:
        await record_upload(session, "u-1", sent)
    # The process "dies" here: committed, never relayed. A fresh process starts below.
    await database.engine.dispose()
    fresh_engine = create_engine(database.url)
    producer_bus = RabbitMqBus(topology.url, exchange=topology.exchange)
    await producer_bus.start()
    relay = OutboxRelay(session_factory(fresh_engine), producer_bus, SCHEMA, poll_interval=0.1)
    await relay.start()
    try:
        async with asyncio.timeout(WAIT):
            got = await received.get()
    finally:
        await relay.stop()
        await producer_bus.close()
        await consumer_bus.close()
        await fresh_engine.dispose()

    assert got == sent
    assert await database.scalar(f"SELECT count(*) FROM {SCHEMA}.state_changes") == 1
    assert await database.scalar(
        f"SELECT published_at IS NOT NULL FROM {SCHEMA}.outbox WHERE id = '{sent.id}'"
    )


async def test_nothing_is_published_for_a_rolled_back_transaction(
    database: Database, topology: Topology
) -> None:
    consumer_bus, received = await started_consumer(topology)
    producer_bus = RabbitMqBus(topology.url, exchange=topology.exchange)
    await producer_bus.start()
    relay = OutboxRelay(database.sessions, producer_bus, SCHEMA)
    rolled_back, marker = failed(1), failed(2)

    async def use_case_that_fails_after_adding_its_event() -> None:
        async with transaction(database.sessions) as session:
            await record_upload(session, "u-rolled-back", rolled_back)
            raise RuntimeError("validation failed after the event was added")

    with pytest.raises(RuntimeError, match="validation failed"):
        await use_case_that_fails_after_adding_its_event()
    async with transaction(database.sessions) as session:
        await record_upload(session, "u-marker", marker)
    result = await relay.relay_once()
    async with asyncio.timeout(WAIT):
        first = await received.get()
    await producer_bus.close()
    await consumer_bus.close()

    assert (result.claimed, result.published) == (1, 1)
    assert first == marker  # the queue is FIFO: a rolled-back event would have come first
    assert await database.scalar(f"SELECT count(*) FROM {SCHEMA}.outbox") == 1
    assert await database.scalar(f"SELECT count(*) FROM {SCHEMA}.state_changes") == 1


async def test_rows_locked_by_one_relay_are_skipped_by_another(database: Database) -> None:
    bus = InProcessBus()
    await bus.start()
    async with transaction(database.sessions) as session:
        await record_upload(session, "u-1", failed())
    relay = OutboxRelay(database.sessions, bus, SCHEMA)

    async with transaction(database.sessions) as other_relay:
        await other_relay.execute(text(f"SELECT id FROM {SCHEMA}.outbox FOR UPDATE"))
        while_locked = await relay.relay_once()
    after_release = await relay.relay_once()
    await bus.close()

    assert (while_locked.claimed, while_locked.published) == (0, 0)
    assert (after_release.claimed, after_release.published) == (1, 1)


async def test_notify_wakes_a_relay_that_would_otherwise_sleep_for_an_hour(
    database: Database,
) -> None:
    bus = InProcessBus()
    received: asyncio.Queue[Envelope] = asyncio.Queue()

    async def handler(env: Envelope) -> None:
        await received.put(env)

    await bus.subscribe("notify-test", [DependencyResolutionFailed.type], handler)
    await bus.start()
    relay = OutboxRelay(database.sessions, bus, SCHEMA, poll_interval=3600)
    await relay.start()  # listening, first (empty) pass done: now asleep for an hour
    sent = failed()
    try:
        async with transaction(database.sessions) as session:
            await record_upload(session, "u-1", sent)
        async with asyncio.timeout(WAIT):
            got = await received.get()
    finally:
        await relay.stop()
        await bus.close()

    assert got == sent


async def test_a_redelivered_event_is_handled_once(database: Database, topology: Topology) -> None:
    async with transaction(database.sessions) as session:
        await session.execute(text(f"INSERT INTO {SCHEMA}.state_changes (id) VALUES ('u-1')"))

    async def count_handling(session: AsyncSession, env: Envelope) -> None:
        await session.execute(
            text(f"UPDATE {SCHEMA}.state_changes SET handled = handled + 1 WHERE id = 'u-1'")
        )

    handle_once = idempotent(
        topology.consumer, count_handling, sessions=database.sessions, schema=SCHEMA
    )
    deliveries: asyncio.Queue[str] = asyncio.Queue()
    crashed = False

    async def handler(env: Envelope) -> None:
        nonlocal crashed
        await handle_once(env)  # commits
        await deliveries.put(env.id)
        if not crashed:
            crashed = True
            raise RuntimeError("crash after commit, before ack")  # RabbitMQ delivers again

    bus = RabbitMqBus(topology.url, exchange=topology.exchange, retry=RETRY)
    await bus.subscribe(topology.consumer, [DependencyResolutionFailed.type], handler)
    await bus.start()
    sent = failed()
    await bus.publish(sent)
    await bus.publish(sent)  # a duplicate, as a relay that crashed before marking would send
    async with asyncio.timeout(WAIT):
        seen = [await deliveries.get() for _ in range(3)]
    await bus.close()

    assert seen == [sent.id] * 3
    assert (
        await database.scalar(f"SELECT handled FROM {SCHEMA}.state_changes WHERE id = 'u-1'") == 1
    )
    assert await database.scalar(f"SELECT count(*) FROM {SCHEMA}.inbox") == 1


async def test_a_failing_handler_leaves_no_inbox_row_so_the_retry_handles_it(
    database: Database,
) -> None:
    attempts = 0

    async def fail_first(session: AsyncSession, env: Envelope) -> None:
        nonlocal attempts
        attempts += 1
        await session.execute(
            text(f"INSERT INTO {SCHEMA}.state_changes (id) VALUES ('u-{attempts}')")
        )
        if attempts == 1:
            raise RuntimeError("transient")

    handle_once = idempotent("c", fail_first, sessions=database.sessions, schema=SCHEMA)
    sent = failed()

    with pytest.raises(RuntimeError, match="transient"):
        await handle_once(sent)
    await handle_once(sent)
    await handle_once(sent)

    assert attempts == 2
    assert await database.scalar(f"SELECT string_agg(id, ',') FROM {SCHEMA}.state_changes") == "u-2"
    assert await database.scalar(f"SELECT count(*) FROM {SCHEMA}.inbox") == 1
