"""Composition root of onboarding: what it is made of, handed to the shared host.

Schema `onboarding` (uploads, versions, locks); consumes `ModelUploaded` when the resolver is
enabled; answers the gateway's upload API; relays its events from the outbox; no extra workers.
The embedded mode and the tests inject `engine`, `bus` and `blob_store` (and then start and
close them). The start/stop order is the host's (`modelbay_common.serving`).
"""

from __future__ import annotations

from modelbay_common.blob import BlobStore
from modelbay_common.bus import Bus
from modelbay_common.events import ModelUploaded
from modelbay_common.internal_auth import internal_app
from modelbay_common.serving import Clients, ConsumerTable, ServiceHost, run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_onboarding.api import create_app
from modelbay_onboarding.debris import debris_sweeper
from modelbay_onboarding.handlers import resolve_dependencies_handler
from modelbay_onboarding.orm import SCHEMA
from modelbay_onboarding.resolver import Resolver
from modelbay_onboarding.service import UploadService
from modelbay_onboarding.settings import SERVICE_NAME, OnboardingSettings
from modelbay_onboarding.solutions.service import SolutionService

Service = ServiceHost  # the name tests knew the running service by


def build_service(
    settings: OnboardingSettings,
    *,
    engine: AsyncEngine | None = None,
    bus: Bus | None = None,
    blob_store: BlobStore | None = None,
) -> ServiceHost:
    clients = Clients.open(settings, SERVICE_NAME, engine=engine, bus=bus, blob_store=blob_store)
    consumers: ConsumerTable = {}
    if settings.resolver_enabled:
        resolver = Resolver(settings, clients.blob_store)
        handler = resolve_dependencies_handler(settings.consumer_name, resolver, clients.sessions)
        consumers = {settings.consumer_name: ((ModelUploaded.type,), handler)}
    uploads = UploadService(settings, clients.blob_store)
    solutions = SolutionService(settings, clients.blob_store, uploads)
    return ServiceHost(
        clients,
        schema=SCHEMA,
        app=internal_app(
            create_app(settings, uploads, clients.sessions, solutions), settings.internal_secret
        ),
        consumers=consumers,
        workers=[debris_sweeper(settings)],  # spool and resolve debris of dead predecessors
        outbox_poll_seconds=settings.outbox_poll_seconds,
        # The resolver runs `pip lock` then `pip download`, each bounded by the pip timeout.
        handler_deadline_seconds=2 * settings.pip_timeout_seconds + 300,
    )


def run() -> None:
    """`python -m modelbay_onboarding`: serve on MODELBAY_ONBOARDING_HTTP_PORT (8001)."""
    run_service(OnboardingSettings.load, build_service)
