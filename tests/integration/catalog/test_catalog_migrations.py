"""The catalog's Alembic revisions create exactly the tables its ORM queries, and undo them."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from modelbay_catalog.orm import SCHEMA, Base
from modelbay_common.db import create_engine
from modelbay_common.inbox import inbox_table
from modelbay_common.migrations import alembic_config, current, downgrade, upgrade
from modelbay_common.outbox import outbox_table
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection


def differences(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": lambda name, type_, _: name == SCHEMA if type_ == "schema" else True,
            "compare_type": True,
            "version_table_schema": SCHEMA,
        },
    )
    return list(compare_metadata(context, metadata))


def catalog_metadata() -> MetaData:
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        if table.name not in ("outbox", "inbox"):
            table.to_metadata(metadata)
    outbox_table(SCHEMA, metadata)
    inbox_table(SCHEMA, metadata)
    return metadata


async def test_revisions_match_the_orm_and_downgrade_cleanly(fresh_database_url: str) -> None:
    await upgrade("catalog", fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(differences, catalog_metadata())
        assert found == []
        head = ScriptDirectory.from_config(alembic_config("catalog")).get_current_head()
        assert await current("catalog", fresh_database_url) == head

        await downgrade("catalog", fresh_database_url, "0001")
        async with engine.connect() as connection:
            tables = await connection.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'catalog'")
            )
            assert set(tables) == {"alembic_version", "outbox", "inbox"}
    finally:
        await engine.dispose()
