"""Composition root of the onboarding service: `build_service(settings, ...)` wires everything.

Nothing is built at import time. `engine`, `bus` and `blob_store` may be injected (the embedded
mode shares them between services; tests pass fakes); whoever injects a bus starts and closes
it, and must start it before `Service.start()` so the outbox relay can publish.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fastapi import FastAPI
from modelbay_common.blob import BlobStore, open_blob_store
from modelbay_common.bus import Bus, create_bus
from modelbay_common.db import create_engine, session_factory
from modelbay_common.errors import install_problem_handlers
from modelbay_common.events import ModelUploaded
from modelbay_common.migrations import upgrade
from modelbay_common.outbox import OutboxRelay
from modelbay_common.serving import run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_onboarding.api import build_router
from modelbay_onboarding.handlers import RESOLVER_CONSUMER, resolve_dependencies_handler
from modelbay_onboarding.orm import SCHEMA
from modelbay_onboarding.resolver import Resolver
from modelbay_onboarding.service import UploadService
from modelbay_onboarding.settings import OnboardingSettings

log = logging.getLogger(__name__)


@dataclass
class Service:
    app: FastAPI
    settings: OnboardingSettings
    engine: AsyncEngine
    bus: Bus
    blob_store: BlobStore
    resolver: Resolver
    relay: OutboxRelay
    owns_engine: bool
    owns_bus: bool
    _started: bool = field(default=False)

    async def start(self) -> None:
        """Migrate the schema, subscribe the resolver, start the bus (if ours) and the relay."""
        await upgrade(SCHEMA, self.settings.database_url)
        await self.blob_store.ensure_ready()
        if self.settings.resolver_enabled:
            sessions = session_factory(self.engine)
            handler = resolve_dependencies_handler(self.resolver, sessions)
            await self.bus.subscribe(RESOLVER_CONSUMER, [ModelUploaded.type], handler)
        if self.owns_bus:
            await self.bus.start()
        await self.relay.start()
        self._started = True
        log.info(
            "onboarding started (resolver %s)", "on" if self.settings.resolver_enabled else "off"
        )

    async def stop(self) -> None:
        await self.relay.stop()
        if self.owns_bus:
            await self.bus.close()
        if self.owns_engine:
            await self.engine.dispose()
        self._started = False


def build_service(
    settings: OnboardingSettings,
    *,
    engine: AsyncEngine | None = None,
    bus: Bus | None = None,
    blob_store: BlobStore | None = None,
) -> Service:
    own_engine = engine or create_engine(settings.database_url, application_name="onboarding")
    own_bus = bus or create_bus(settings.bus_url, connection_name="onboarding")
    blobs = blob_store or open_blob_store(settings.blob_url)
    sessions = session_factory(own_engine)
    uploads = UploadService(settings, blobs)
    app = FastAPI(
        title="Modelbay onboarding (internal)",
        version="1",
        description="Bundle uploads: validation, storage, versions. Called by the gateway only.",
    )
    install_problem_handlers(app)
    app.include_router(build_router(settings, uploads, sessions))
    return Service(
        app=app,
        settings=settings,
        engine=own_engine,
        bus=own_bus,
        blob_store=blobs,
        resolver=Resolver(settings, blobs),
        relay=OutboxRelay(sessions, own_bus, SCHEMA),
        owns_engine=engine is None,
        owns_bus=bus is None,
    )


def run() -> None:
    """`python -m modelbay_onboarding`: serve on MODELBAY_ONBOARDING_HTTP_PORT (8001)."""
    run_service(OnboardingSettings.load, build_service)
