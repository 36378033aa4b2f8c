"""The catalog's read-only routes (search, the model page) run on a pool of their own
(`main.open_read_engine`): each statement in its own implicit transaction (no BEGIN/COMMIT round
trips, and a pre-ping of one `;`), with prepared statements planned once
(`plan_cache_mode = force_generic_plan`); the units of work keep transactions and PostgreSQL's
own choice of plans. Real PostgreSQL: `now()` (the transaction's start) changes between a read
session's statements and stays the same within a `transaction()`."""

from __future__ import annotations

import asyncio
from typing import Any

from asyncpg.connection import LoggedQuery
from modelbay_catalog.main import open_read_engine
from modelbay_common.db import create_engine, session_factory, transaction
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession


async def two_starts(session: AsyncSession) -> tuple[object, object]:
    first = await session.scalar(text("SELECT now()"))
    await asyncio.sleep(0.01)
    return first, await session.scalar(text("SELECT now()"))


async def test_reads_autocommit_and_plan_once_and_units_of_work_do_not(postgres_url: str) -> None:
    reads, writes = open_read_engine(postgres_url), create_engine(postgres_url, pool_size=1)
    sent: list[str] = []

    def log(query: LoggedQuery) -> None:
        sent.append(query.query.strip())

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(log)

    event.listen(reads.sync_engine, "connect", on_connect)
    try:
        for _ in range(2):
            async with session_factory(reads)() as session:
                first, second = await two_starts(session)
                assert first != second  # two transactions: no BEGIN was sent
                assert await session.scalar(text("SHOW plan_cache_mode")) == "force_generic_plan"
            async with transaction(session_factory(writes)) as session:
                first, second = await two_starts(session)
                assert first == second  # one transaction
                assert await session.scalar(text("SHOW plan_cache_mode")) == "auto"
        # asyncpg logs its simple-protocol statements: the pool's pre-ping (`;`, once, at the
        # second checkout: a new connection is not pinged) and the BEGIN/ROLLBACK a ping in a
        # transaction would add (SQLAlchemy's prepared statements are not logged).
        assert sent == [";"], sent
    finally:
        await reads.dispose()
        await writes.dispose()
