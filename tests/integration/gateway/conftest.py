"""Fixtures of the gateway's integration tests: gateway + catalog + onboarding on real Postgres,
composed in-process through their `build_service` (see gateway_stack.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gateway_bundle import make_archive
from gateway_limits import GATEWAY_MAX_UPLOAD
from gateway_stack import ADMIN, ADMIN_TOKEN, Stack
from modelbay_catalog.main import build_service as build_catalog
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.blob import open_blob_store
from modelbay_common.bus import InProcessBus, RetryPolicy
from modelbay_common.db import create_engine
from modelbay_embedded.inprocess import InProcessTransport
from modelbay_gateway.main import build_service as build_gateway
from modelbay_gateway.settings import GatewaySettings
from modelbay_onboarding.main import build_service as build_onboarding
from modelbay_onboarding.settings import OnboardingSettings


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_archive(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def archive_bytes(archive: Path) -> bytes:
    return archive.read_bytes()


@pytest.fixture(scope="module")
def gateway_overrides() -> dict[str, Any]:
    """Gateway settings a test module changes (test_gateway_webhooks.py: loopback targets)."""
    return {}


@pytest.fixture(scope="module")
async def stack(
    module_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    gateway_overrides: dict[str, Any],
) -> AsyncIterator[Stack]:
    blob_dir = tmp_path_factory.mktemp("blobs")
    shared = {
        "database_url": module_database_url,
        "bus_url": "memory://",
        "blob_url": blob_dir.as_uri(),
        "log_json": False,
    }
    engine = create_engine(module_database_url)
    bus = InProcessBus(RetryPolicy(max_attempts=2, delays=(0.05,)))
    blob_store = open_blob_store(blob_dir.as_uri())
    catalog = build_catalog(CatalogSettings(**shared), engine=engine, bus=bus)
    onboarding = build_onboarding(
        OnboardingSettings(**shared, resolver_enabled=False),
        engine=engine,
        bus=bus,
        blob_store=blob_store,
    )
    gateway = build_gateway(
        GatewaySettings(
            **shared,
            admin_username=ADMIN,
            admin_token=ADMIN_TOKEN,
            max_upload_bytes=GATEWAY_MAX_UPLOAD,
            **gateway_overrides,
        ),
        engine=engine,
        bus=bus,
        blob_store=blob_store,
        transports={
            "catalog": InProcessTransport(catalog.app),
            "onboarding": InProcessTransport(onboarding.app),
        },
    )
    await blob_store.ensure_ready()
    await bus.start()
    for service in (catalog, onboarding, gateway):
        await service.start()
    yield Stack(gateway.app, bus, module_database_url, blob_dir)
    for service in (gateway, onboarding, catalog):
        await service.stop()
    await bus.close()
    await engine.dispose()
