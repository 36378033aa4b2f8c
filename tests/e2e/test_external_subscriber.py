"""An external system sees the pipeline on RabbitMQ: a plain aio-pika consumer binds its own
queue to the `modelbay.events` topic exchange (docs/events.md) and receives the four events of a
push, in order, as structured-mode CloudEvents.

Progress events between them (e.g. `dependency_resolution_started`) are allowed: adding an event
type is not a breaking change (docs/events.md, "Compatibility"), so the test checks the order of
the four lifecycle events among everything received for the version."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from e2e_client import Gateway, describe_failure, explain
from e2e_models import dump_model, push_bundle
from e2e_stack import Stack

EXCHANGE = "modelbay.events"
PIPELINE = [
    "modelbay.model.uploaded.v1",
    "modelbay.model.dependencies_resolved.v1",
    "modelbay.model.image_built.v1",
    "modelbay.model.published.v1",
]
ARRIVAL_BOUND_SECONDS = 120.0


@pytest.fixture
async def subscription(stack: Stack) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """What an integrator writes: connect, bind an own queue to every model event."""
    connection = await aio_pika.connect_robust(stack.bus_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue("", exclusive=True)
        await queue.bind(exchange, routing_key="modelbay.model.#")
        yield queue


async def _events_until_published(
    queue: aio_pika.abc.AbstractQueue, subject: str
) -> list[tuple[aio_pika.abc.AbstractIncomingMessage, dict[str, Any]]]:
    seen: list[tuple[aio_pika.abc.AbstractIncomingMessage, dict[str, Any]]] = []
    ids: set[str] = set()
    async with queue.iterator() as messages:
        async for message in messages:
            async with message.process():
                event = json.loads(message.body)
            if event.get("subject") != subject or event["id"] in ids:
                continue  # another model's event, or an at-least-once duplicate
            ids.add(event["id"])
            seen.append((message, event))
            if event["type"] == PIPELINE[-1]:
                return seen
    return seen


async def test_external_subscriber_receives_the_four_events_in_order(
    alice: Gateway, subscription: aio_pika.abc.AbstractQueue, tmp_path: Path
) -> None:
    name, owner = "iris_events", alice.username
    bundle = await dump_model("iris_described", name, tmp_path / name)
    pushed = await push_bundle(alice, bundle, f"{owner}/{name}")
    detail = await alice.follow(owner, name, pushed.version)
    assert detail["status"] == "ready", describe_failure(detail)
    published = await alice.publish(
        owner, name, description="Iris species", category="classification", license="MIT"
    )
    assert published.status_code == 200, explain(published)

    subject = f"{owner}/{name}/{pushed.version}"
    received = await asyncio.wait_for(
        _events_until_published(subscription, subject), ARRIVAL_BOUND_SECONDS
    )

    lifecycle = [event["type"] for _, event in received if event["type"] in PIPELINE]
    assert lifecycle == PIPELINE, [event["type"] for _, event in received]
    for message, event in received:
        assert message.content_type == "application/cloudevents+json"
        assert message.routing_key == event["type"]
        assert event["specversion"] == "1.0"
        assert event["source"].startswith("/modelbay/")
        assert event["id"]
        assert event["time"]
        assert event["data"]["owner"] == owner
        assert event["data"]["name"] == name
        assert event["data"]["version"] == pushed.version
    built = next(event for _, event in received if event["type"] == PIPELINE[2])
    assert built["data"]["image_ref"] == detail["image_ref"]
