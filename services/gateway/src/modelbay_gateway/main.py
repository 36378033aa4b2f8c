"""Composition root of the gateway: builds every client, nothing at import time.

`build_service(settings)` gives a `GatewayService` whose `.app` serves the public `/v1` API and
whose `start()` migrates the `gateway` schema, ensures the bootstrap administrator, subscribes to
every lifecycle event (for SSE) and starts the bus. The embedded mode passes its own `engine`,
`bus` and `blob_store` (then it starts and closes them itself) and in-process `transports` to the
other services' apps.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx
from fastapi import FastAPI
from modelbay_common.blob import BlobStore, open_blob_store
from modelbay_common.bus import Bus, create_bus
from modelbay_common.db import create_engine, session_factory, transaction
from modelbay_common.migrations import upgrade
from modelbay_common.serving import run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_gateway.api import create_app
from modelbay_gateway.context import GatewayContext
from modelbay_gateway.events_hub import EventHub
from modelbay_gateway.handlers import subscribe_event_fan_out
from modelbay_gateway.service import ensure_bootstrap_admin
from modelbay_gateway.service_models import model_visibility
from modelbay_gateway.settings import SERVICE_NAME, GatewaySettings
from modelbay_gateway.store import UserStore
from modelbay_gateway.upstream import Upstreams
from modelbay_gateway.visibility import ModelAccess, VisibilityCache

log = logging.getLogger(__name__)


class GatewayService:
    """The running gateway: public HTTP app and the SSE event consumer."""

    def __init__(
        self,
        settings: GatewaySettings,
        engine: AsyncEngine,
        bus: Bus,
        blob_store: BlobStore,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None,
        *,
        owns_clients: bool,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.bus = bus
        self.blob_store = blob_store
        self.sessions = session_factory(engine)
        self.upstreams = Upstreams(settings, transports)
        visibility = VisibilityCache(self._lookup_access, settings.visibility_cache_seconds)
        self.hub = EventHub(visibility, settings.sse_replay_events)
        self.context = GatewayContext(settings, self.sessions, self.upstreams, blob_store, self.hub)
        self.app: FastAPI = create_app(self.context)
        self._owns_clients = owns_clients
        self._started = False

    async def _lookup_access(self, owner: str, name: str) -> ModelAccess | None:
        found = await model_visibility(self.upstreams, owner, name)
        if found is None:
            return None
        return ModelAccess(
            owner=str(found["owner"]),
            owner_org=found.get("owner_org"),
            visibility=str(found["visibility"]),
        )

    async def start(self) -> None:
        """Migrate, bootstrap the admin, subscribe. Safe to call once per process."""
        if self._started:
            return
        await upgrade(SERVICE_NAME, self.settings.database_url)
        await self._bootstrap_admin()
        await subscribe_event_fan_out(self.bus, self.settings.consumer_name, self.hub)
        if self._owns_clients:
            await self.blob_store.ensure_ready()
            await self.bus.start()
        self._started = True

    async def _bootstrap_admin(self) -> None:
        username = self.settings.admin_username
        if not username:
            return
        async with transaction(self.sessions) as session:
            await ensure_bootstrap_admin(UserStore(session), username, self.settings.admin_token)
        log.info("bootstrap administrator %r is ready", username)

    async def stop(self) -> None:
        """End SSE streams, close the internal clients, then what this service created."""
        self.hub.close()
        await self.upstreams.aclose()
        if self._owns_clients:
            await self.bus.close()
            await self.engine.dispose()
        self._started = False


def build_service(
    settings: GatewaySettings,
    *,
    engine: AsyncEngine | None = None,
    bus: Bus | None = None,
    blob_store: BlobStore | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> GatewayService:
    """`transports` maps "onboarding", "catalog", "builder" to in-process transports."""
    if (engine is None) != (bus is None):
        raise ValueError("pass both engine and bus (embedded mode) or neither (own clients)")
    owns_clients = engine is None
    return GatewayService(
        settings,
        engine or create_engine(settings.database_url, application_name="modelbay-gateway"),
        bus
        or create_bus(
            settings.bus_url, exchange=settings.events_exchange, connection_name="modelbay-gateway"
        ),
        blob_store or open_blob_store(settings.blob_url),
        transports,
        owns_clients=owns_clients,
    )


def run() -> None:
    """`python -m modelbay_gateway`: configuration from the environment only."""
    run_service(GatewaySettings.load, build_service)
