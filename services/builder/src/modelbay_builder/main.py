"""Composition root of the builder: what it is made of, handed to the shared host.

Schema `builder`; consumes `DependenciesResolved` and, on a queue of its own, `MirrorRequested`
(federation: `mirror/`, the catalog reached at `catalog_url`); answers the gateway's internal
API (build status, image tarballs); relays its events from the outbox; extra workers: the build
worker and, in local-process mode, the runner's model servers. `modes.py` picks the runner. The
embedded mode injects `engine`, `bus`, `blob_store` and the catalog's in-process transport; unit
and integration tests also pass a fake `runner` and `exporter`. The start/stop order is the
host's (`modelbay_common.serving`).
"""

from __future__ import annotations

import asyncio

import httpx
from modelbay_common.blob import BlobStore
from modelbay_common.bus import Bus
from modelbay_common.internal_auth import internal_app
from modelbay_common.serving import Clients, ServiceHost, Step, run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_builder.api import create_app
from modelbay_builder.build_metrics import builds_in_flight, queue_probe
from modelbay_builder.debris import debris_sweeper
from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.gc import image_collector
from modelbay_builder.handlers import BUILD_EVENT_TYPES, dependencies_resolved_handler
from modelbay_builder.images import ImageExporter
from modelbay_builder.mirror.wiring import mirror_consumer
from modelbay_builder.modes import ResolvedMode, choose_runner
from modelbay_builder.orm import SCHEMA
from modelbay_builder.served import ServedListener, ServedModels
from modelbay_builder.settings import SERVICE_NAME, BuilderSettings
from modelbay_builder.try_sandbox import try_sandboxes_for
from modelbay_builder.worker import BuildWorker, Runner


class BuilderService(ServiceHost):
    """The host, plus what tests and the embedded mode reach: the mode, runner and worker."""

    mode: ResolvedMode
    runner: Runner
    worker: BuildWorker
    served: ServedModels

    def on_served(self, listener: ServedListener) -> None:
        """Call `listener` with every model this builder starts serving (local-process mode)."""
        self.served.subscribe(listener)


def build_service(
    settings: BuilderSettings,
    *,
    engine: AsyncEngine | None = None,
    bus: Bus | None = None,
    blob_store: BlobStore | None = None,
    runner: Runner | None = None,
    exporter: ImageExporter | None = None,
    catalog_transport: httpx.AsyncBaseTransport | None = None,
) -> BuilderService:
    clients = Clients.open(settings, SERVICE_NAME, engine=engine, bus=bus, blob_store=blob_store)
    docker = DockerConnection(settings.docker_host, settings.docker_timeout_seconds)
    chosen = choose_runner(settings, clients.blob_store, docker, runner=runner, exporter=exporter)
    worker = BuildWorker(clients.sessions, chosen.runner, settings)
    consumer = settings.consumer_name
    handler = dependencies_resolved_handler(consumer, clients.sessions, worker)
    # Federation: copies of a peer's versions, on a queue of their own (mirror/).
    mirrors = mirror_consumer(
        settings, clients.sessions, clients.blob_store, catalog_transport=catalog_transport
    )
    # "Try it": the version's image in a sandbox on request (Docker), or its local process.
    sandboxes = try_sandboxes_for(
        settings, docker if chosen.mode == "docker" else None, chosen.exporter
    )
    service = BuilderService(
        clients,
        schema=SCHEMA,
        app=internal_app(
            create_app(
                clients.sessions,
                chosen.exporter,
                worker.liveness,
                sandboxes,
                image_gc=image_collector(settings, docker) if chosen.mode == "docker" else None,
            ),
            settings.internal_secret,
        ),
        consumers={
            consumer: (BUILD_EVENT_TYPES, handler),
            mirrors.name: (mirrors.event_types, mirrors.handler),
        },
        # Stopped in reverse: the worker hands builds back, the model servers stop, then Docker.
        # The sweep comes before the worker: a dead predecessor's debris goes before new builds.
        workers=[
            Step(on_stop=lambda: asyncio.to_thread(docker.close)),
            mirrors.closing,
            sandboxes,  # stopped before Docker closes: its containers are removed first
            *chosen.managed,
            debris_sweeper(
                settings.work_dir,
                docker if chosen.mode == "docker" else None,
                settings.debris_sweep_seconds,
            ),
            worker,
        ],
        outbox_poll_seconds=settings.outbox_poll_seconds,
        probes={"builder-queue": queue_probe(clients.sessions)},
        own_health_routes=True,  # the build worker's liveness (liveness.py)
        status_extras=builds_in_flight(clients.sessions, settings.stale_build_seconds),
    )
    service.mode, service.runner, service.worker = chosen.mode, chosen.runner, worker
    service.served = chosen.served
    return service


def run() -> None:
    """`python -m modelbay_builder`: configuration from the environment only."""
    run_service(BuilderSettings.load, build_service)
