"""`EXPLAIN (ANALYZE, BUFFERS)` of exactly the statements the catalog runs for a scenario: the
catalog's use case runs in-process on the seeded database, every statement it sends is captured
with its parameters and explained afterwards, so the plans shown are those of the real code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asyncpg.connection import LoggedQuery
from modelbay_catalog.records import SearchCriteria, SearchSort
from modelbay_catalog.service_queries import model_with_versions, search_models
from modelbay_catalog.store_pages import ModelPageStore
from modelbay_catalog.store_search import SearchStore
from modelbay_common.access import Caller
from modelbay_common.db import create_engine, session_factory
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Plan:
    statement: str
    plan: str


def criteria_of(params: dict[str, str]) -> SearchCriteria:
    return SearchCriteria(
        q=params.get("q"),
        category=params.get("category"),
        sort=SearchSort(params["sort"]) if "sort" in params else None,
    )


async def explain_search(database_url: str, caller: Caller, params: dict[str, str]) -> list[Plan]:
    async def use_case(session: AsyncSession) -> None:
        await search_models(
            SearchStore(session),
            caller,
            criteria_of(params),
            20,
            None,
            with_facets=params.get("facets") == "true",
        )

    return await _explain(database_url, use_case)


async def explain_model_page(
    database_url: str, caller: Caller, owner: str, name: str
) -> list[Plan]:
    async def use_case(session: AsyncSession) -> None:
        await model_with_versions(ModelPageStore(session), caller, owner, name)

    return await _explain(database_url, use_case)


async def _explain(
    database_url: str, use_case: Callable[[AsyncSession], Awaitable[None]]
) -> list[Plan]:
    # The catalog's read pool (modelbay_catalog.main.open_read_engine): generic plans.
    engine = create_engine(database_url, autocommit=True, generic_plans=True)
    # (statement, parameters, on the driver?) in the order sent. The search's hot statements
    # run on the asyncpg connection itself (modelbay_catalog.search_sql), which SQLAlchemy's
    # events do not see: asyncpg's query logger does.
    captured: list[tuple[str, Any, bool]] = []

    def capture(conn: Connection, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if not statement.lstrip().upper().startswith("EXPLAIN"):
            captured.append((statement, parameters, False))

    def capture_driver(query: LoggedQuery) -> None:
        words = query.query.replace(";", " ").split(None, 1)  # ";" alone: the pool's ping
        if words and words[0].upper() not in {"BEGIN", "COMMIT", "ROLLBACK", "EXPLAIN"}:
            captured.append((query.query, query.args, True))

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(capture_driver)

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    event.listen(engine.sync_engine, "connect", on_connect)
    try:
        sessions = session_factory(engine)
        # Once unrecorded: a new connection's set-up and asyncpg's type introspection are
        # not statements of the use case (the pool hands the same connection back).
        async with sessions() as session:
            await use_case(session)
            await session.rollback()
        captured.clear()
        async with sessions() as session:
            await use_case(session)
            await session.rollback()
        plans: list[Plan] = []
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            for statement, parameters, on_driver in list(captured):
                if on_driver:
                    assert driver is not None
                    lines = await _explain_generic(driver, statement, parameters)
                else:
                    explained = await connection.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                    )
                    lines = [str(row[0]) for row in explained]
                plans.append(Plan(statement, "\n".join(lines)))
            await connection.rollback()
        return plans
    finally:
        await engine.dispose()


async def _explain_generic(driver: Any, statement: str, parameters: Any) -> list[str]:
    """The plan the catalog runs for a driver statement: its generic plan (the read pool plans
    each prepared statement once: `plan_cache_mode = force_generic_plan`), executed with these
    values. `EXPLAIN <statement>` with parameters would show a custom plan for the values, so
    the statement is PREPAREd and `EXPLAIN EXECUTE`d with its values as literals the server
    writes itself (`quote_nullable` of each value in its parameter's type)."""
    prepared = await driver.prepare(statement)
    literals = [
        await driver.fetchval(f"SELECT quote_nullable($1::{kind.name})", value)
        for kind, value in zip(prepared.get_parameters(), parameters, strict=True)
    ]
    await driver.execute(f"PREPARE catalogbench_explained AS {statement}")
    try:
        rows = await driver.fetch(
            "EXPLAIN (ANALYZE, BUFFERS) EXECUTE catalogbench_explained"
            + (f"({', '.join(literals)})" if literals else "")
        )
    finally:
        await driver.execute("DEALLOCATE catalogbench_explained")
    return [str(row[0]) for row in rows]
