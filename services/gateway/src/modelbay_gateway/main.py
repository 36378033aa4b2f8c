"""Composition root of the gateway: what it is made of, handed to the shared host.

Schema `gateway` (users, tokens); consumes every model event to fan it out over SSE; serves the
public `/v1` API; no outbox. Extra workers: the bootstrap administrator at start-up, and closing
the SSE streams and internal HTTP clients at stop. The embedded mode injects `engine`, `bus`,
`blob_store` and in-process `transports` to the other services' apps. The start/stop order is
the host's (`modelbay_common.serving`).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from modelbay_common.blob import BlobStore
from modelbay_common.bus import Bus
from modelbay_common.serving import Clients, ServiceHost, Step, run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_gateway.api import create_app
from modelbay_gateway.context import GatewayContext
from modelbay_gateway.events_hub import EventHub
from modelbay_gateway.handlers import EVERY_MODEL_EVENT
from modelbay_gateway.orm import SCHEMA
from modelbay_gateway.service_models import catalog_access_lookup
from modelbay_gateway.settings import SERVICE_NAME, GatewaySettings
from modelbay_gateway.startup import bootstrap_admin
from modelbay_gateway.upstream import Upstreams
from modelbay_gateway.visibility import VisibilityCache

GatewayService = ServiceHost  # the name the embedded mode knows the running gateway by


def build_service(
    settings: GatewaySettings,
    *,
    engine: AsyncEngine | None = None,
    bus: Bus | None = None,
    blob_store: BlobStore | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> ServiceHost:
    """`transports` maps "onboarding", "catalog", "builder" to in-process transports."""
    clients = Clients.open(settings, SERVICE_NAME, engine=engine, bus=bus, blob_store=blob_store)
    upstreams = Upstreams(settings, transports)
    visibility = VisibilityCache(
        catalog_access_lookup(upstreams), settings.visibility_cache_seconds
    )
    hub = EventHub(visibility, settings.sse_replay_events)
    context = GatewayContext(settings, clients.sessions, upstreams, clients.blob_store, hub)

    async def close_streams_and_clients() -> None:
        hub.close()
        await upstreams.aclose()

    return ServiceHost(
        clients,
        schema=SCHEMA,
        app=create_app(context),
        consumers={settings.consumer_name: (EVERY_MODEL_EVENT, hub.deliver)},
        workers=[
            Step(on_start=lambda: bootstrap_admin(clients.sessions, settings)),
            Step(on_stop=close_streams_and_clients),
        ],
    )


def run() -> None:
    """`python -m modelbay_gateway`: configuration from the environment only."""
    run_service(GatewaySettings.load, build_service)
