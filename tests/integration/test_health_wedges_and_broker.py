"""Issue 15: health that tells the truth outside the builder, on the catalog's host.

- A wedged event handler (blocked on a row lock a stuck transaction holds) fails `/healthz`
  once it has run past the host's handler deadline, naming the consumer and the event; it
  answers 200 again when the handler gets through.
- A wedged outbox relay (its batch blocked behind a table lock) fails `/healthz` naming the
  relay, and recovers the same way.
- Readiness follows the broker: a PRIVATE RabbitMQ (its own node, port and data directory, the
  shared one is never touched) is stopped under the catalog: `/readyz` answers 503 naming the
  broker while `/healthz` stays 200, then 200 again by itself after the node is back, and the
  catalog consumes again.

The deadlines are lowered to a second on the running host so the test waits seconds; the
waits are bounded polls, never timing assertions.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from modelbay_catalog.main import build_service as build_catalog
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.bus import Bus, InProcessBus
from modelbay_common.db import create_engine
from modelbay_common.events import DependencyResolutionStarted, envelope
from modelbay_common.outbox import OutboxRelay
from modelbay_common.serving import ServiceHost
from modelbay_embedded.inprocess import InProcessTransport
from private_backends import PrivateRabbitMq
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

POLLS = 1200  # × 0.1 s: a bound on waiting, never an assertion on speed
CONSUMER = "catalog.versions"


def settings(database_url: str, bus_url: str, blob_dir: Path) -> CatalogSettings:
    return CatalogSettings(
        database_url=database_url,
        bus_url=bus_url,
        blob_url=blob_dir.as_uri(),
        log_json=False,
        outbox_poll_seconds=0.2,
    )


async def probe(host: ServiceHost, path: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=InProcessTransport(host.app), base_url="http://catalog"
    ) as client:
        return await client.get(path)


async def until_status(host: ServiceHost, path: str, status: int) -> dict[str, Any]:
    answer = await probe(host, path)
    for _ in range(POLLS):
        if answer.status_code == status:
            break
        await asyncio.sleep(0.1)
        answer = await probe(host, path)
    assert answer.status_code == status, answer.text
    return dict(answer.json())


async def publish_started(bus: Bus, version: int) -> None:
    event = DependencyResolutionStarted(owner="alice", name="wedge", version=version)
    await bus.publish(envelope(event, source="/modelbay/onboarding"))


async def until_versions(connection: AsyncConnection, count: int) -> None:
    found = 0
    for _ in range(POLLS):
        found = int(await connection.scalar(text("SELECT count(*) FROM catalog.versions")) or 0)
        await connection.rollback()  # a fresh snapshot each poll
        if found >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the catalog recorded {found} versions, expected {count}")


@pytest.fixture
async def catalog(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[ServiceHost]:
    engine = create_engine(fresh_database_url)
    bus = InProcessBus()
    host = build_catalog(
        settings(fresh_database_url, "memory://", tmp_path / "blobs"), engine=engine, bus=bus
    )
    await bus.start()
    await host.start()
    try:
        yield host
    finally:
        await host.stop()
        await bus.close()
        await engine.dispose()


async def test_a_handler_wedged_past_its_deadline_fails_liveness(catalog: ServiceHost) -> None:
    catalog.handlers_in_flight.deadline_seconds = 1.0
    engine = create_engine(catalog.clients.database_url)
    try:
        async with engine.connect() as watcher, engine.connect() as stuck:
            await publish_started(catalog.bus, 1)
            await until_versions(watcher, 1)
            # A transaction that holds the model's row and never ends: the next event of this
            # model blocks in the catalog's handler (the model row serialises its events).
            await stuck.execute(
                text("SELECT id FROM catalog.models WHERE name = 'wedge' FOR UPDATE")
            )
            await publish_started(catalog.bus, 2)

            problem = await until_status(catalog, "/healthz", 503)
            wedged = problem["checks"]["event handlers"]
            assert wedged.startswith(f"{CONSUMER} has run modelbay."), wedged
            assert "deadline 1 s" in wedged
            assert "event handlers" in problem["detail"]
            # Not a readiness matter: the database answers; a restart is what would help.
            assert (await probe(catalog, "/readyz")).status_code == 200

            await stuck.rollback()  # the stuck transaction ends: the handler gets through
            await until_versions(watcher, 2)
        answer = await until_status(catalog, "/healthz", 200)
        assert answer["checks"]["event handlers"] == "ok"
    finally:
        await engine.dispose()


async def test_a_relay_wedged_past_its_deadline_fails_liveness(catalog: ServiceHost) -> None:
    relay = catalog.relay
    assert isinstance(relay, OutboxRelay)
    relay.batch_deadline = 1.0
    engine = create_engine(catalog.clients.database_url)
    try:
        async with engine.connect() as stuck:
            # A stuck migration or a forgotten psql session holding the table: the relay's
            # claim query waits behind it (polling every 0.2 s, it starts a batch at once).
            await stuck.execute(text("LOCK TABLE catalog.outbox IN ACCESS EXCLUSIVE MODE"))
            problem = await until_status(catalog, "/healthz", 503)
            assert "the outbox relay is wedged" in problem["checks"]["outbox relay"]
            assert "outbox relay" in problem["detail"]
            await stuck.rollback()
        answer = await until_status(catalog, "/healthz", 200)
        assert answer["checks"]["outbox relay"] == "ok"
    finally:
        await engine.dispose()


@pytest.fixture
def private_rabbitmq() -> Iterator[PrivateRabbitMq]:
    # RabbitMQ runs as its own user: its directory must be reachable by it.
    root = Path(tempfile.mkdtemp(prefix="modelbay-health-rabbitmq-"))
    os.chmod(root, 0o755)
    node = PrivateRabbitMq(root / "rabbitmq")
    node.start()
    try:
        yield node
    finally:
        node.stop()


async def test_readiness_follows_a_private_broker_and_recovers_by_itself(
    private_rabbitmq: PrivateRabbitMq, fresh_database_url: str, tmp_path: Path
) -> None:
    # The host opens and owns its RabbitMQ bus, as `python -m modelbay_catalog` does.
    host = build_catalog(
        settings(fresh_database_url, private_rabbitmq.amqp_url, tmp_path / "blobs")
    )
    await host.start()
    engine = create_engine(fresh_database_url)
    try:
        ready = await until_status(host, "/readyz", 200)
        assert ready["checks"]["broker"] == "ok"

        await asyncio.to_thread(private_rabbitmq.halt)
        problem = await until_status(host, "/readyz", 503)
        assert problem["checks"]["broker"] != "ok"
        assert problem["checks"]["database"] == "ok"
        assert "broker" in problem["detail"]
        # A broker outage is not a reason to restart the process.
        assert (await probe(host, "/healthz")).status_code == 200

        await asyncio.to_thread(private_rabbitmq.start)
        ready = await until_status(host, "/readyz", 200)
        assert ready["checks"]["broker"] == "ok"
        assert (await probe(host, "/healthz")).status_code == 200
        # And it consumes again: an event published after the outage is recorded.
        await publish_started(host.bus, 1)
        async with engine.connect() as watcher:
            await until_versions(watcher, 1)
    finally:
        await host.stop()
        await engine.dispose()
