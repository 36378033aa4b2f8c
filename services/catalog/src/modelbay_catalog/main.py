"""Composition root of the catalog: builds every client, nothing at import time.

`build_service(settings)` gives a `CatalogService` whose `.app` serves the internal API and whose
`start()` migrates the schema, subscribes to the lifecycle events and starts the outbox relay.
The embedded mode passes its own `engine` and `bus` (then it starts and closes the bus itself).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from modelbay_common.bus import Bus, create_bus
from modelbay_common.db import create_engine, session_factory
from modelbay_common.migrations import upgrade
from modelbay_common.outbox import OutboxRelay
from modelbay_common.serving import run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_catalog.api import create_app
from modelbay_catalog.handlers import LIFECYCLE_EVENT_TYPES, lifecycle_handler
from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.settings import SERVICE_NAME, CatalogSettings


class CatalogService:
    """The running catalog: HTTP app, event consumer and outbox relay."""

    def __init__(
        self, settings: CatalogSettings, engine: AsyncEngine, bus: Bus, *, owns_clients: bool
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.bus = bus
        self.sessions = session_factory(engine)
        self.app: FastAPI = create_app(self.sessions, settings)
        self.relay = OutboxRelay(
            self.sessions, bus, SCHEMA, poll_interval=settings.outbox_poll_seconds
        )
        self._owns_clients = owns_clients
        self._started = False

    async def start(self) -> None:
        """Migrate, subscribe, start the relay. Safe to call once per process."""
        if self._started:
            return
        await upgrade(SERVICE_NAME, self.settings.database_url)
        handler = lifecycle_handler(self.settings.consumer_name, self.sessions)
        await self.bus.subscribe(self.settings.consumer_name, LIFECYCLE_EVENT_TYPES, handler)
        if self._owns_clients:
            await self.bus.start()
        await self.relay.start()
        self._started = True

    async def stop(self) -> None:
        """Stop the relay, then the bus and the engine if this service created them."""
        await self.relay.stop()
        if self._owns_clients:
            await self.bus.close()
            await self.engine.dispose()
        self._started = False


def build_service(
    settings: CatalogSettings,
    *,
    engine: AsyncEngine | None = None,
    bus: Bus | None = None,
    blob_store: Any = None,  # accepted for a uniform signature: the catalog keeps no blobs
) -> CatalogService:
    del blob_store
    if (engine is None) != (bus is None):
        raise ValueError("pass both engine and bus (embedded mode) or neither (own clients)")
    owns_clients = engine is None
    return CatalogService(
        settings,
        engine or create_engine(settings.database_url, application_name="modelbay-catalog"),
        bus
        or create_bus(
            settings.bus_url, exchange=settings.events_exchange, connection_name="modelbay-catalog"
        ),
        owns_clients=owns_clients,
    )


def run() -> None:
    """`python -m modelbay_catalog`: configuration from the environment only."""
    run_service(CatalogSettings.load, build_service)
