"""Fixtures of the catalog's integration tests: a migrated database of its own per test and
the service built through its composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from catalog_events import RunningCatalog
from modelbay_catalog.main import build_service
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.bus import InProcessBus, RetryPolicy
from modelbay_common.db import create_engine


@pytest.fixture
async def catalog(fresh_database_url: str) -> AsyncIterator[RunningCatalog]:
    """The catalog on real Postgres, with the in-process bus standing in for RabbitMQ (the
    RabbitMQ path has its own test in test_catalog_rabbitmq.py)."""
    settings = CatalogSettings(database_url=fresh_database_url, bus_url="memory://")
    engine = create_engine(fresh_database_url)
    bus = InProcessBus(RetryPolicy(max_attempts=2, delays=(0.05,)))
    service = build_service(settings, engine=engine, bus=bus)
    await service.start()
    await bus.start()
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as client:
        yield RunningCatalog(service=service, client=client, bus=bus)
    await service.stop()
    await bus.close()
    await engine.dispose()
