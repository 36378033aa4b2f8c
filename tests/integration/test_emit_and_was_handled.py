"""`EventEmitter` and `inbox.was_handled` on real PostgreSQL: one call writes a service's event
to its outbox in the caller's transaction, and a consumer can ask whether it already handled an
event before doing slow work outside any transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from modelbay_common.db import SessionFactory, create_engine, session_factory, transaction
from modelbay_common.events import DependencyResolutionStarted, envelope
from modelbay_common.inbox import idempotent, was_handled
from modelbay_common.migrations import upgrade
from modelbay_common.outbox import EventEmitter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SCHEMA = "onboarding"  # any service schema: each has its outbox and inbox tables
STARTED = DependencyResolutionStarted(owner="alice", name="iris", version=1)


class Rollback(Exception):
    """Raised inside a transaction to roll it back on purpose."""


@pytest.fixture
async def sessions(fresh_database_url: str) -> AsyncIterator[SessionFactory]:
    await upgrade(SCHEMA, fresh_database_url)
    engine = create_engine(fresh_database_url)
    yield session_factory(engine)
    await engine.dispose()


async def _outbox_rows(sessions: SessionFactory) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                f"SELECT id::text, event_type, payload->>'source' FROM {SCHEMA}.outbox"
                " ORDER BY created_at"
            )
        )
        return [(row[0], row[1], row[2]) for row in rows]


async def test_emit_writes_the_envelope_to_the_outbox_only_when_the_caller_commits(
    sessions: SessionFactory,
) -> None:
    emit = EventEmitter(source="/modelbay/onboarding", schema=SCHEMA)

    async def emit_then_fail() -> None:
        async with transaction(sessions) as session:
            await emit(session, STARTED)
            raise Rollback

    with pytest.raises(Rollback):
        await emit_then_fail()
    assert await _outbox_rows(sessions) == []

    async with transaction(sessions) as session:
        sent = await emit(session, STARTED)
    assert sent.data == STARTED
    assert await _outbox_rows(sessions) == [(sent.id, STARTED.type, "/modelbay/onboarding")]


async def test_was_handled_sees_only_what_the_consumer_committed(sessions: SessionFactory) -> None:
    event = envelope(STARTED, source="/modelbay/test")

    async def work(session: AsyncSession, _: object) -> None:
        return None

    async with sessions() as session:
        assert not await was_handled(session, "resolver", event.id, schema=SCHEMA)
    await idempotent("resolver", work, sessions=sessions, schema=SCHEMA)(event)
    async with sessions() as session:
        assert await was_handled(session, "resolver", event.id, schema=SCHEMA)
        # Per consumer: another consumer of the same event has not handled it.
        assert not await was_handled(session, "catalog", event.id, schema=SCHEMA)
