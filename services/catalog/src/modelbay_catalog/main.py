"""Composition root of the catalog: what it is made of, handed to the shared host.

Schema `catalog`; consumes the lifecycle events of every version; answers the gateway's
internal API; relays `Published` from its outbox. `build_service(settings)` opens its own
engine and bus; the embedded mode and the tests inject theirs (and then start and close them).
The start/stop order is the host's (`modelbay_common.serving`).
"""

from __future__ import annotations

from typing import Any

import httpx
from modelbay_common.bus import Bus
from modelbay_common.db import create_engine, session_factory
from modelbay_common.internal_auth import internal_app
from modelbay_common.serving import Clients, ServiceHost, Step, run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_catalog.api import create_app
from modelbay_catalog.federation.api import sync_policy
from modelbay_catalog.federation.loop import SyncLoop, federation_status
from modelbay_catalog.federation.outcomes import OUTCOME_EVENT_TYPES, RetryPolicy, outcome_handler
from modelbay_catalog.handlers import LIFECYCLE_EVENT_TYPES, lifecycle_handler
from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.settings import SERVICE_NAME, CatalogSettings

CatalogService = ServiceHost  # the name tests knew the running catalog by


def build_service(
    settings: CatalogSettings,
    *,
    engine: AsyncEngine | None = None,
    bus: Bus | None = None,
    blob_store: Any = None,  # accepted for a uniform signature: the catalog keeps no blobs
) -> ServiceHost:
    del blob_store
    clients = Clients.open(settings, SERVICE_NAME, engine=engine, bus=bus, uses_blobs=False)
    consumer = settings.consumer_name
    handler = lifecycle_handler(consumer, clients.sessions)
    # Federation (docs/federation.md): one client for every peer's gateway, the builder's
    # answers to MirrorRequested, and the sync loop.
    federation_http = httpx.AsyncClient(timeout=settings.federation_http_timeout_seconds)
    read_engine = open_read_engine(settings.database_url)
    app = create_app(clients.sessions, session_factory(read_engine), settings)
    app.state.federation_http = federation_http
    retry = RetryPolicy(
        settings.federation_retry_base_seconds, settings.federation_retry_max_seconds
    )
    mirrors = settings.mirror_consumer_name
    workers: list[Any] = [Step(on_stop=federation_http.aclose), Step(on_stop=read_engine.dispose)]
    if settings.federation_sync_enabled:
        policy = sync_policy(settings)
        loop = SyncLoop(clients.sessions, federation_http, policy, settings.federation_poll_seconds)
        workers.append(loop)
    return ServiceHost(
        clients,
        schema=SCHEMA,
        app=internal_app(app, settings.internal_secret),
        consumers={
            consumer: (LIFECYCLE_EVENT_TYPES, handler),
            mirrors: (OUTCOME_EVENT_TYPES, outcome_handler(mirrors, clients.sessions, retry)),
        },
        workers=workers,
        outbox_poll_seconds=settings.outbox_poll_seconds,
        status_extras=federation_status(clients.sessions),
    )


def open_read_engine(database_url: str) -> AsyncEngine:
    """The pool of the hot read-only routes (search, the model page): each statement its own
    transaction (no BEGIN/COMMIT, a one-round-trip pre-ping) and prepared statements planned
    once (their planning cost more than their execution: docs/decisions.md, "The catalog's
    reads plan once"). No I/O here: it connects at the first read."""
    return create_engine(
        database_url,
        application_name=f"modelbay-{SERVICE_NAME}-reads",
        autocommit=True,
        generic_plans=True,
    )


def run() -> None:
    """`python -m modelbay_catalog`: configuration from the environment only."""
    run_service(CatalogSettings.load, build_service)
