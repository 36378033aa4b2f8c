"""The catalog's read-only routes (search, the model page) run each statement in its own
implicit transaction (`api.autocommit_sessions`: no BEGIN/COMMIT round trips), and that setting
never leaks to the next unit of work that gets the same pooled connection: in a real PostgreSQL,
`now()` (the transaction's start) changes between a read session's statements and stays the
same within a `transaction()`, on a pool of one connection."""

from __future__ import annotations

import asyncio

from modelbay_catalog.api import autocommit_sessions
from modelbay_common.db import asyncpg_url, session_factory, transaction
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine


async def two_starts(session: AsyncSession) -> tuple[object, object]:
    first = await session.scalar(text("SELECT now()"))
    await asyncio.sleep(0.01)
    return first, await session.scalar(text("SELECT now()"))


async def test_read_sessions_autocommit_and_do_not_leak_to_units_of_work(
    postgres_url: str,
) -> None:
    engine = create_async_engine(asyncpg_url(postgres_url), pool_size=1, max_overflow=0)
    sessions = session_factory(engine)
    try:
        for _ in range(2):
            async with autocommit_sessions(sessions)() as session:
                first, second = await two_starts(session)
                assert first != second  # two transactions: no BEGIN was sent
            async with transaction(sessions) as session:
                first, second = await two_starts(session)
                assert first == second  # the same connection, one transaction again
    finally:
        await engine.dispose()
