"""`modelbay admin dlq list/replay` through the gateway's admin routes, on real RabbitMQ.

A consumer of this test's own (unique exchange and queue names on the shared broker) fails
every event until told to stop; its dead letters are listed by the CLI through a gateway
served over real HTTP (uvicorn), replayed, and then handled. Non-admins get 403 problem+json,
an unknown consumer 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import httpx
import pytest
import uvicorn
from gateway_stack import ADMIN, ADMIN_TOKEN
from modelbay.cli import build_app
from modelbay_common.bus import RetryPolicy
from modelbay_common.bus.rabbitmq import RabbitMqBus
from modelbay_common.bus.rabbitmq_topology import dead_letter_queue_name, retry_queue_name
from modelbay_common.events import DependencyResolutionFailed, Envelope, envelope
from modelbay_gateway.main import build_service
from modelbay_gateway.settings import GatewaySettings
from typer.testing import CliRunner

ONE_TRY = RetryPolicy(max_attempts=1, delays=(0.05,))
WAIT = 60.0  # a guard against hanging, never an assertion on speed


@dataclass
class World:
    url: str
    consumer: str
    handled: asyncio.Queue[Envelope]
    failing: list[bool]
    bus: RabbitMqBus


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _delete_queues(amqp_url: str, exchange: str, consumers: list[str]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection, connection.channel() as channel:
        for consumer in consumers:
            names = [consumer, dead_letter_queue_name(consumer)]
            names += [retry_queue_name(consumer, delay) for delay in ONE_TRY.delays]
            for name in names:
                await channel.queue_delete(name)
        await channel.exchange_delete(exchange)


@pytest.fixture
async def world(amqp_url: str, module_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    run = uuid.uuid4().hex[:10]
    exchange, consumer, sse = f"test.events.{run}", f"test.{run}.failing", f"test.{run}.sse"
    settings = GatewaySettings(
        database_url=module_database_url,
        bus_url=amqp_url,
        blob_url=tmp_path.as_uri(),
        events_exchange=exchange,
        consumer_name=sse,
        dead_letter_consumers=[consumer],
        admin_username=ADMIN,
        admin_token=ADMIN_TOKEN,
        log_json=False,
    )
    gateway = build_service(settings)
    handled: asyncio.Queue[Envelope] = asyncio.Queue()
    failing = [True]

    async def handler(event: Envelope) -> None:
        if failing[0]:
            raise RuntimeError("the test's consumer is failing on purpose")
        await handled.put(event)

    bus = RabbitMqBus(amqp_url, exchange=exchange, retry=ONE_TRY)
    await bus.subscribe(consumer, ("modelbay.#",), handler)
    await bus.start()
    await gateway.start()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(gateway.app, port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.05)
        yield World(f"http://127.0.0.1:{port}", consumer, handled, failing, bus)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, WAIT)
        await gateway.stop()
        await bus.close()
        await _delete_queues(amqp_url, exchange, [consumer, sse])


def _event(version: int) -> Envelope:
    event = DependencyResolutionFailed(owner="o", name="m", version=version, reason="r")
    return envelope(event, source="/test")


async def _dead_letter_count(world: World) -> int:
    async with httpx.AsyncClient(base_url=world.url, headers=_bearer(ADMIN_TOKEN)) as client:
        found = (await client.get("/v1/admin/dead-letters", params={"limit": 50})).json()
    return int(next(q["count"] for q in found["queues"] if q["consumer"] == world.consumer))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _cli(world: World, *args: str) -> str:
    argv = [*args, "--url", world.url, "--token", ADMIN_TOKEN]
    result = await asyncio.to_thread(CliRunner().invoke, build_app(), argv)
    assert result.exit_code == 0, result.output
    return result.output


async def test_dead_letters_are_listed_and_replayed_by_the_cli(world: World) -> None:
    sent = [_event(version) for version in (1, 2, 3)]
    for event in sent:
        await world.bus.publish(event)
    async with asyncio.timeout(WAIT):
        while await _dead_letter_count(world) < len(sent):  # noqa: ASYNC110 - the broker's state
            await asyncio.sleep(0.1)

    listed = await _cli(world, "admin", "dlq", "list", "--limit", "2")
    assert f"{world.consumer}.dlq" in listed
    assert "2+" in listed  # 3 letters, 2 shown
    assert sent[0].id in listed
    assert "failing on purpose" in listed

    world.failing[0] = False
    replayed = await _cli(world, "admin", "dlq", "replay", world.consumer, "--limit", "1")
    assert "Replayed 1 dead letter(s)" in replayed
    async with asyncio.timeout(WAIT):
        first = await world.handled.get()
    assert first.id == sent[0].id  # in order, the oldest first
    assert await _dead_letter_count(world) == 2

    rest = await _cli(world, "admin", "dlq", "replay", world.consumer)
    assert "Replayed 2 dead letter(s)" in rest
    async with asyncio.timeout(WAIT):
        others = {(await world.handled.get()).id for _ in range(2)}
    assert others == {sent[1].id, sent[2].id}
    assert await _dead_letter_count(world) == 0


async def test_only_administrators_see_dead_letters(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.url) as client:
        admin = _bearer(ADMIN_TOKEN)
        created = await client.post(
            "/v1/users", json={"username": f"u{uuid.uuid4().hex[:8]}"}, headers=admin
        )
        user = _bearer(created.json()["token"]["token"])
        for method, path in (
            ("GET", "/v1/admin/dead-letters"),
            ("POST", f"/v1/admin/dead-letters/{world.consumer}/replay"),
        ):
            refused = await client.request(method, path, headers=user)
            assert refused.status_code == 403, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"].endswith("admin-required")
            anonymous = await client.request(method, path)
            assert anonymous.status_code == 401
        unknown = await client.post("/v1/admin/dead-letters/no.such.queue/replay", headers=admin)
        assert unknown.status_code == 404
        assert unknown.json()["type"].endswith("unknown-consumer")
        bad_limit = await client.get("/v1/admin/dead-letters?limit=0", headers=admin)
        assert bad_limit.status_code == 422
