"""`EXPLAIN (ANALYZE, BUFFERS)` of exactly the statements the catalog runs for a scenario: the
catalog's use case runs in-process on the seeded database, every statement it sends is captured
with its parameters and explained afterwards, so the plans shown are those of the real code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

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
    engine = create_engine(database_url)
    captured: list[tuple[str, Any]] = []

    def capture(conn: Connection, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if not statement.lstrip().upper().startswith("EXPLAIN"):
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        sessions = session_factory(engine)
        async with sessions() as session:
            await use_case(session)
            await session.rollback()
        plans: list[Plan] = []
        async with engine.connect() as connection:
            for statement, parameters in list(captured):
                explained = await connection.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                )
                plans.append(Plan(statement, "\n".join(row[0] for row in explained)))
            await connection.rollback()
        return plans
    finally:
        await engine.dispose()
