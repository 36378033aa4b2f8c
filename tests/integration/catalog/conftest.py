"""Fixtures of the catalog's integration tests: the service built through its composition root
on a database of the module's own, migrated once and emptied before every test.

Why emptied and not rolled back: the catalog commits its own transactions on its own pooled
connections while its handlers and outbox relay run concurrently, so a test cannot be wrapped in
one outer transaction without changing what is tested. Emptying every table of the schema (the
version table aside) gives each test the same clean, migrated database a fresh one would, without
creating, migrating and dropping a database per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from catalog_events import RunningCatalog
from modelbay_catalog.main import build_service
from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.bus import InProcessBus, RetryPolicy
from modelbay_common.db import create_engine
from modelbay_common.internal_auth import InternalAuth
from modelbay_common.migrations import VERSION_TABLE, upgrade
from sqlalchemy import text


@pytest.fixture(scope="module")
async def migrated_catalog_database(module_database_url: str) -> str:
    await upgrade(SCHEMA, module_database_url)
    return module_database_url


@pytest.fixture
async def catalog_database_url(migrated_catalog_database: str) -> str:
    """The module's catalog database with every table of the schema empty, as if new."""
    engine = create_engine(migrated_catalog_database)
    try:
        async with engine.begin() as connection:
            names = (
                await connection.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = :schema "
                        "AND tablename <> :versions"
                    ),
                    {"schema": SCHEMA, "versions": VERSION_TABLE},
                )
            ).scalars()
            tables = ", ".join(f'"{SCHEMA}"."{name}"' for name in names)
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
    return migrated_catalog_database


@pytest.fixture
async def catalog(catalog_database_url: str) -> AsyncIterator[RunningCatalog]:
    """The catalog on real Postgres, with the in-process bus standing in for RabbitMQ (the
    RabbitMQ path has its own test in test_catalog_rabbitmq.py)."""
    settings = CatalogSettings(database_url=catalog_database_url, bus_url="memory://")
    engine = create_engine(catalog_database_url)
    bus = InProcessBus(RetryPolicy(max_attempts=2, delays=(0.05,)))
    service = build_service(settings, engine=engine, bus=bus)
    await service.start()
    await bus.start()
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://catalog", auth=InternalAuth()
    ) as client:
        yield RunningCatalog(service=service, client=client, bus=bus)
    await service.stop()
    await bus.close()
    await engine.dispose()
