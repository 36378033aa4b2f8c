"""The catalog as in stack mode: its own RabbitMQ connection, events from other processes,
`Published` out through the outbox relay to a subscriber on the same exchange."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aio_pika
import httpx
import pytest
from catalog_events import WAIT_SECONDS, built, headers, resolved, uploaded, wait_until, wrap
from modelbay_catalog.main import CatalogService, build_service
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.bus import RetryPolicy
from modelbay_common.bus.rabbitmq import RabbitMqBus
from modelbay_common.bus.rabbitmq_topology import dead_letter_queue_name, retry_queue_name
from modelbay_common.events import Envelope, Published
from modelbay_common.internal_auth import InternalAuth


@pytest.fixture
def names() -> tuple[str, str, str]:
    suffix = uuid.uuid4().hex[:10]
    return f"test.catalog.{suffix}", f"test.catalog.{suffix}.versions", f"test.{suffix}.watcher"


async def delete_topology(amqp_url: str, exchange: str, consumers: tuple[str, ...]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection, connection.channel() as channel:
        for consumer in consumers:
            await channel.queue_delete(consumer)
            await channel.queue_delete(dead_letter_queue_name(consumer))
            for delay in RetryPolicy().delays:
                await channel.queue_delete(retry_queue_name(consumer, delay))
        await channel.exchange_delete(exchange)


@pytest.fixture
async def stack_catalog(
    fresh_database_url: str, amqp_url: str, names: tuple[str, str, str]
) -> AsyncIterator[CatalogService]:
    exchange, consumer, watcher = names
    settings = CatalogSettings(
        database_url=fresh_database_url,
        bus_url=amqp_url,
        events_exchange=exchange,
        consumer_name=consumer,
    )
    service = build_service(settings)  # its own engine and RabbitMQ connection
    await service.start()
    yield service
    await service.stop()
    await delete_topology(amqp_url, exchange, (consumer, watcher))


async def test_rabbitmq_events_drive_a_version_to_ready_and_published_goes_out_once_ready(
    stack_catalog: CatalogService, amqp_url: str, names: tuple[str, str, str]
) -> None:
    exchange, _, watcher = names
    other_services = RabbitMqBus(amqp_url, exchange=exchange)
    announced: asyncio.Queue[Envelope] = asyncio.Queue()

    async def watch(event: Envelope) -> None:
        await announced.put(event)

    await other_services.subscribe(watcher, [Published.type], watch)
    await other_services.start()
    transport = httpx.ASGITransport(app=stack_catalog.app)
    client = httpx.AsyncClient(transport=transport, base_url="http://catalog", auth=InternalAuth())
    try:

        async def status_is(expected: str) -> bool:
            response = await client.get(
                "/internal/models/alice/iris/versions/1", headers=headers("alice")
            )
            return response.status_code == 200 and response.json()["status"] == expected

        publish_body = {"description": "iris", "category": "classification", "license": "MIT"}
        await other_services.publish(wrap(uploaded("alice", "iris")))
        await other_services.publish(wrap(resolved("alice", "iris")))
        await wait_until(lambda: status_is("building"), "status building")
        refused = await client.post(
            "/internal/models/alice/iris/publish", json=publish_body, headers=headers("alice")
        )
        assert refused.status_code == 409

        await other_services.publish(wrap(built("alice", "iris")))
        await wait_until(lambda: status_is("ready"), "status ready")
        published = await client.post(
            "/internal/models/alice/iris/publish", json=publish_body, headers=headers("alice")
        )
        assert published.status_code == 200

        event = await asyncio.wait_for(announced.get(), WAIT_SECONDS)
        payload = event.event_as(Published)
        assert (payload.owner, payload.name, payload.version) == ("alice", "iris", 1)
        assert payload.visibility == "public"
        assert payload.image_ref == "127.0.0.1:5000/alice/iris:1"
        assert event.source == "/modelbay/catalog"
        assert announced.empty()  # the refused attempt announced nothing
    finally:
        await client.aclose()
        await other_services.close()
