"""Issue 15: the outbox relay LISTENs again after a Postgres restart.

Before the fix the relay opened its LISTEN connection once; after a restart of Postgres it was
dead, so events committed afterwards waited for the poll and, because the outage had pushed the
relay into its back-off, for up to 30 s. Here the relay polls once an hour and backs off up to
an hour, so an event that arrives at all after the restart was woken by a NOTIFY on a new LISTEN
connection: nothing else could have sent it within the test's bound.

The Postgres is private (its own data directory and port): the shared one is never restarted.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from modelbay_common.bus import InProcessBus
from modelbay_common.db import create_engine, session_factory, transaction
from modelbay_common.embedded_pg import EmbeddedPostgres, find_free_port
from modelbay_common.events import DependencyResolutionFailed, Envelope, envelope
from modelbay_common.migrations import upgrade
from modelbay_common.outbox import OutboxRelay, add_to_outbox

SCHEMA = "onboarding"  # any schema with an outbox; its migrations create the table
HOUR = 3600.0
BOUND = 60.0  # a guard against hanging, never an assertion on speed


@pytest.fixture
def private_postgres() -> Iterator[EmbeddedPostgres]:
    # Outside pytest's tmp_path: the server runs as another user when we are root.
    root = Path(tempfile.mkdtemp(prefix="modelbay-relisten-pg-"))
    server = EmbeddedPostgres(root / "postgres", port=find_free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def failed(version: int) -> Envelope:
    event = DependencyResolutionFailed(owner="o", name="m", version=version, reason="r")
    return envelope(event, source="/modelbay/onboarding")


@pytest.fixture
async def relay_and_received(
    private_postgres: EmbeddedPostgres,
) -> AsyncIterator[tuple[OutboxRelay, asyncio.Queue[Envelope], EmbeddedPostgres]]:
    await upgrade(SCHEMA, private_postgres.url)
    engine = create_engine(private_postgres.url)
    bus = InProcessBus()
    received: asyncio.Queue[Envelope] = asyncio.Queue()

    async def collect(event: Envelope) -> None:
        await received.put(event)

    await bus.subscribe("test.relisten", ["modelbay.#"], collect)
    await bus.start()
    relay = OutboxRelay(session_factory(engine), bus, SCHEMA, poll_interval=HOUR, max_backoff=HOUR)
    await relay.start()
    try:
        yield relay, received, private_postgres
    finally:
        await relay.stop()
        await bus.close()
        await engine.dispose()


async def commit_event(url: str, event: Envelope) -> None:
    engine = create_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            await add_to_outbox(session, event, schema=SCHEMA)
    finally:
        await engine.dispose()


async def test_relay_listens_again_after_postgres_restarts(
    relay_and_received: tuple[OutboxRelay, asyncio.Queue[Envelope], EmbeddedPostgres],
) -> None:
    relay, received, postgres = relay_and_received
    before = failed(1)
    await commit_event(postgres.url, before)
    assert (await asyncio.wait_for(received.get(), BOUND)).id == before.id
    assert relay.listens_since == 1

    await asyncio.to_thread(postgres.stop)
    await asyncio.sleep(1.5)  # the relay sees its LISTEN connection drop and fails a batch
    await asyncio.to_thread(postgres.start)

    after = failed(2)
    # The relay reconnects by itself; committing before it has is fine (NOTIFY or its first
    # pass after reconnecting sends it). Retried while the restarted server refuses sessions.
    for _ in range(int(BOUND)):
        try:
            await commit_event(postgres.url, after)
            break
        except OSError:
            await asyncio.sleep(1)
    got = await asyncio.wait_for(received.get(), BOUND)
    assert got.id == after.id
    assert relay.listens_since == 2
    assert relay.liveness_problem() is None
