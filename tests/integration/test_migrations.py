"""Per-service Alembic migrations on a fresh PostgreSQL database: apply, reverse, re-apply."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from modelbay_common.db import create_engine
from modelbay_common.inbox import inbox_table
from modelbay_common.migrations import (
    MigrationSource,
    alembic_config,
    current,
    downgrade,
    registered_sources,
    upgrade,
    upgrade_all,
)
from modelbay_common.outbox import outbox_table
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection


async def tables_by_schema(database_url: str) -> dict[str, set[str]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
            )
            found: dict[str, set[str]] = {}
            for schema, table in rows:
                found.setdefault(schema, set()).add(table)
            return found
    finally:
        await engine.dispose()


# The schemas the installed services registered (entry point group modelbay.migrations).
SCHEMAS = sorted(registered_sources())


def test_every_service_registers_its_migrations() -> None:
    assert registered_sources() == {
        name: MigrationSource(name, f"modelbay_{name}")
        for name in ("builder", "catalog", "gateway", "onboarding")
    }


def head_of(service: str) -> str:
    """The newest revision in the service's migrations directory."""
    head = ScriptDirectory.from_config(alembic_config(service)).get_current_head()
    assert head is not None, f"{service} has no migrations"
    return head


@pytest.mark.parametrize("service", SCHEMAS)
async def test_migrations_apply_from_empty_and_are_reversible(
    service: str, fresh_database_url: str
) -> None:
    assert await current(service, fresh_database_url) is None

    await upgrade(service, fresh_database_url)
    assert await current(service, fresh_database_url) == head_of(service)
    migrated = await tables_by_schema(fresh_database_url)
    assert set(migrated) == {service}  # nothing lands in public or another schema
    assert {"alembic_version", "outbox", "inbox"} <= migrated[service]

    await downgrade(service, fresh_database_url, "base")
    assert await current(service, fresh_database_url) is None
    assert await tables_by_schema(fresh_database_url) == {service: {"alembic_version"}}

    await upgrade(service, fresh_database_url)
    assert await current(service, fresh_database_url) == head_of(service)
    assert await tables_by_schema(fresh_database_url) == migrated


async def test_upgrading_twice_is_a_no_op(fresh_database_url: str) -> None:
    await upgrade("catalog", fresh_database_url)
    await upgrade("catalog", fresh_database_url)

    assert await current("catalog", fresh_database_url) == head_of("catalog")


async def test_every_service_keeps_its_own_schema_and_version_table(
    fresh_database_url: str,
) -> None:
    await upgrade_all(fresh_database_url)
    await downgrade("builder", fresh_database_url, "base")

    tables = await tables_by_schema(fresh_database_url)
    assert tables["builder"] == {"alembic_version"}
    for service in set(SCHEMAS) - {"builder"}:
        assert {"alembic_version", "outbox", "inbox"} <= tables[service]
        assert await current(service, fresh_database_url) == head_of(service)


def _differences(connection: Connection, metadata: MetaData, schema: str) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": lambda name, type_, _: name == schema if type_ == "schema" else True,
            "compare_type": True,
            "version_table_schema": schema,
        },
    )
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("service", SCHEMAS)
async def test_migrated_tables_match_the_tables_the_code_queries(
    service: str, fresh_database_url: str
) -> None:
    await upgrade(service, fresh_database_url)
    package = registered_sources()[service].package
    # A copy: adding the outbox and inbox to the ORM's own metadata would leak into other tests.
    metadata = MetaData()
    for table in importlib.import_module(f"{package}.orm").Base.metadata.tables.values():
        table.to_metadata(metadata)
    if f"{service}.outbox" not in metadata.tables:
        outbox_table(service, metadata)
        inbox_table(service, metadata)

    engine = create_engine(fresh_database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences, metadata, service)
    finally:
        await engine.dispose()

    assert differences == []


def test_command_line_upgrades_and_reports_the_revision(fresh_database_url: str) -> None:
    env = {**os.environ, "MODELBAY_DATABASE_URL": fresh_database_url}
    command = [sys.executable, "-m", "modelbay_common.migrations"]

    subprocess.run([*command, "upgrade", "onboarding"], env=env, check=True, timeout=120)
    shown = subprocess.run(
        [*command, "current", "onboarding"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert shown.stdout.strip() == head_of("onboarding")
