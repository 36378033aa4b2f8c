"""The onboarding schema's migrations are reversible and create exactly the tables the ORM
models and the outbox/inbox describe (autogenerate finds no difference)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from modelbay_common.db import create_engine
from modelbay_common.inbox import inbox_table
from modelbay_common.migrations import current, downgrade, upgrade
from modelbay_common.outbox import outbox_table
from modelbay_onboarding.orm import SCHEMA, Base
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

TABLES = {
    "alembic_version",
    "outbox",
    "inbox",
    "model_sequences",
    "uploads",
    "requirement_locks",
    "wheelhouses",
    "resolutions",
    "pickle_allowances",
}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": SCHEMA}
            )
            return {row[0] for row in rows}
    finally:
        await engine.dispose()


def _differences(connection: Connection) -> list[Any]:
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    outbox_table(SCHEMA, metadata)
    inbox_table(SCHEMA, metadata)
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": lambda name, kind, _: name == SCHEMA if kind == "schema" else True,
            "compare_type": True,
            "version_table_schema": SCHEMA,
        },
    )
    return list(compare_metadata(context, metadata))


async def test_migrations_are_reversible_and_match_the_models(fresh_database_url: str) -> None:
    await upgrade(SCHEMA, fresh_database_url)
    assert await current(SCHEMA, fresh_database_url) == "0003"
    assert await _tables(fresh_database_url) == TABLES

    await downgrade(SCHEMA, fresh_database_url, "base")
    assert await _tables(fresh_database_url) == {"alembic_version"}

    await upgrade(SCHEMA, fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
