"""Gateway + catalog + onboarding composed in-process on real Postgres: the stack every gateway
integration test starts, written once (the conftest's `stack` and the modules that need other
settings or the other services' apps)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class InProcessServices:
    stack: Stack
    apps: dict[str, Any]  # "gateway", "catalog", "onboarding"


@asynccontextmanager
async def in_process_services(
    database_url: str,
    blob_dir: Path,
    *,
    catalog: dict[str, Any] | None = None,
    gateway: dict[str, Any] | None = None,
    builder_app: Any | None = None,
) -> AsyncIterator[InProcessServices]:
    """Start the three services (resolver off) sharing one engine, in-process bus and blob
    directory; `catalog` and `gateway` are extra settings of those two. Stopped in reverse."""
    shared = {
        "database_url": database_url,
        "bus_url": "memory://",
        "blob_url": blob_dir.as_uri(),
        "log_json": False,
    }
    engine = create_engine(database_url)
    bus = InProcessBus(RetryPolicy(max_attempts=2, delays=(0.05,)))
    blob_store = open_blob_store(blob_dir.as_uri())
    catalog_service = build_catalog(
        CatalogSettings(**shared, **(catalog or {})), engine=engine, bus=bus
    )
    onboarding = build_onboarding(
        OnboardingSettings(**shared, resolver_enabled=False),
        engine=engine,
        bus=bus,
        blob_store=blob_store,
    )
    gateway_service = build_gateway(
        GatewaySettings(**shared, admin_username=ADMIN, admin_token=ADMIN_TOKEN, **(gateway or {})),
        engine=engine,
        bus=bus,
        blob_store=blob_store,
        transports={
            "catalog": InProcessTransport(catalog_service.app),
            "onboarding": InProcessTransport(onboarding.app),
            # The builder's internal app when a test gives one (test_gateway_gc.py).
            **({"builder": InProcessTransport(builder_app)} if builder_app is not None else {}),
        },
    )
    await blob_store.ensure_ready()
    await bus.start()
    services = (catalog_service, onboarding, gateway_service)
    for service in services:
        await service.start()
    try:
        yield InProcessServices(
            Stack(gateway_service.app, bus, database_url, blob_dir),
            {
                "gateway": gateway_service.app,
                "catalog": catalog_service.app,
                "onboarding": onboarding.app,
            },
        )
    finally:
        for service in reversed(services):
            await service.stop()
        await bus.close()
        await engine.dispose()
