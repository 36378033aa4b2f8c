"""Composition root of the gateway: what it is made of, handed to the shared host.

Schema `gateway` (users, tokens, organisations); consumes every model event to fan it out over
SSE; serves the public `/v1` API; relays the organisation events from its outbox. One extra
step: the bootstrap administrator at start-up, and closing the SSE streams and internal HTTP
clients at stop. The embedded mode injects `engine`, `bus`, `blob_store` and in-process
`transports` to the other services' apps. The start/stop order is the host's
(`modelbay_common.serving`).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from modelbay_common.blob import BlobStore
from modelbay_common.bus import Bus, DeadLetterAdmin
from modelbay_common.metrics import Probe, platform_metrics
from modelbay_common.serving import Clients, ServiceHost, Step, run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_gateway.api import create_app
from modelbay_gateway.audit import audit_events
from modelbay_gateway.context import GatewayContext
from modelbay_gateway.events_hub import EventHub
from modelbay_gateway.gc_run import GcSchedule
from modelbay_gateway.handlers import EVERY_MODEL_EVENT
from modelbay_gateway.orm import SCHEMA
from modelbay_gateway.settings import SERVICE_NAME, GatewaySettings
from modelbay_gateway.startup import bootstrap_admin
from modelbay_gateway.webhook_delivery import WebhookDeliverer, then, webhook_fanout

GatewayService = ServiceHost  # the name the embedded mode knows the running gateway by


def build_service(
    settings: GatewaySettings,
    *,
    engine: AsyncEngine | None = None,
    bus: Bus | None = None,
    blob_store: BlobStore | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> ServiceHost:
    clients = Clients.open(settings, SERVICE_NAME, engine=engine, bus=bus, blob_store=blob_store)
    dead_letters = clients.bus if isinstance(clients.bus, DeadLetterAdmin) else None
    context = GatewayContext.build(
        settings, clients.sessions, clients.blob_store, transports, dead_letters
    )
    visibility = context.visibility
    assert visibility is not None  # GatewayContext.build always makes one
    host = ServiceHost(
        clients,
        schema=SCHEMA,
        app=create_app(context),
        consumers={
            settings.consumer_name: (
                EVERY_MODEL_EVENT,
                # Audit, then SSE, then the webhooks' delivery rows.
                audit_events(
                    clients.sessions,
                    then(context.hub.deliver, webhook_fanout(clients.sessions, visibility)),
                ),
            )
        },
        outbox_poll_seconds=settings.outbox_poll_seconds,
        probes={"sse-subscribers": sse_subscribers_probe(context.hub)},
        workers=[
            WebhookDeliverer(clients.sessions, settings),
            Step(
                on_start=lambda: bootstrap_admin(clients.sessions, settings), on_stop=context.close
            ),
            # After the Step: stopped before the internal clients it uses are closed.
            GcSchedule(context),
        ],
    )
    # The gateway's own part of `GET /v1/admin/status` (the others answer /internal/status).
    host.app.state.service_status = host.status
    return host


def sse_subscribers_probe(hub: EventHub) -> Probe:
    """`modelbay_sse_subscribers`: read from the hub when scraped, so it cannot drift."""

    async def probe() -> None:
        platform_metrics().sse_subscribers.set(hub.subscriber_count)

    return probe


def run() -> None:
    """`python -m modelbay_gateway`: configuration from the environment only."""
    run_service(GatewaySettings.load, build_service)
