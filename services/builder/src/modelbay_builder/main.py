"""Composition root of the builder: builds every client, nothing at import time.

`build_service(settings)` gives a `BuilderService` whose `.app` serves the internal API and whose
`start()` migrates the schema, subscribes to DependenciesResolved, starts the outbox relay and
the build worker. The mode (`settings.mode`) picks the runner: the Docker pipeline, or the
local-process runner that serves models from venvs when no Docker engine is there; `auto` asks
the engine once, here. The embedded mode passes its own `engine`, `bus` and `blob_store` (it starts
and closes them itself); unit tests also pass a fake `runner` and `exporter`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Literal, Protocol, runtime_checkable

from fastapi import FastAPI
from modelbay_common.blob import BlobStore, open_blob_store
from modelbay_common.bus import Bus, create_bus
from modelbay_common.db import create_engine, session_factory
from modelbay_common.migrations import upgrade
from modelbay_common.outbox import OutboxRelay
from modelbay_common.serving import run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_builder.api import create_app
from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.handlers import BUILD_EVENT_TYPES, dependencies_resolved_handler
from modelbay_builder.images import DockerImageExporter, ImageExporter
from modelbay_builder.local.process import LocalProcessRunner
from modelbay_builder.local.refs import LocalProcessExporter
from modelbay_builder.orm import SCHEMA
from modelbay_builder.pipeline import BuildRunner
from modelbay_builder.registry import RegistryCredentials
from modelbay_builder.runtime_wheel import RuntimeWheel
from modelbay_builder.settings import SERVICE_NAME, BuilderSettings
from modelbay_builder.worker import BuildWorker, Runner

log = logging.getLogger(__name__)

ResolvedMode = Literal["docker", "local-process"]


@runtime_checkable
class ManagedRunner(Protocol):
    """A runner with processes of its own (the local-process runner's model servers)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class BuilderService:
    """The running builder: HTTP app, event consumer, build worker and outbox relay."""

    def __init__(
        self,
        settings: BuilderSettings,
        engine: AsyncEngine,
        bus: Bus,
        blob_store: BlobStore,
        docker_connection: DockerConnection,
        runner: Runner,
        exporter: ImageExporter,
        *,
        owns_clients: bool,
        mode: ResolvedMode = "docker",
    ) -> None:
        self.settings = settings
        self.mode: ResolvedMode = mode
        self.runner = runner
        self.engine = engine
        self.bus = bus
        self.blob_store = blob_store
        self.sessions = session_factory(engine)
        self.worker = BuildWorker(self.sessions, runner, settings)
        self.app: FastAPI = create_app(self.sessions, exporter, self.worker.liveness)
        self.relay = OutboxRelay(
            self.sessions, bus, SCHEMA, poll_interval=settings.outbox_poll_seconds
        )
        self._docker = docker_connection
        self._owns_clients = owns_clients
        self._started = False

    async def start(self) -> None:
        """Migrate, subscribe, start the relay and the worker. Safe to call once per process."""
        if self._started:
            return
        await upgrade(SERVICE_NAME, self.settings.database_url)
        handler = dependencies_resolved_handler(
            self.settings.consumer_name, self.sessions, self.worker
        )
        await self.bus.subscribe(self.settings.consumer_name, BUILD_EVENT_TYPES, handler)
        if self._owns_clients:
            await self.blob_store.ensure_ready()
            await self.bus.start()
        await self.relay.start()
        if isinstance(self.runner, ManagedRunner):
            await self.runner.start()
        await self.worker.start()  # picks up builds queued before a restart, too
        self._started = True

    async def stop(self) -> None:
        """Hand running builds back to the queue, stop the relay, then the own clients."""
        await self.worker.stop()
        if isinstance(self.runner, ManagedRunner):
            await self.runner.stop()  # the model servers stop with the builder
        await self.relay.stop()
        if self._owns_clients:
            await self.bus.close()
            await self.engine.dispose()
        await asyncio.to_thread(self._docker.close)
        self._started = False


def build_service(
    settings: BuilderSettings,
    *,
    engine: AsyncEngine | None = None,
    bus: Bus | None = None,
    blob_store: BlobStore | None = None,
    runner: Runner | None = None,
    exporter: ImageExporter | None = None,
) -> BuilderService:
    if (engine is None) != (bus is None):
        raise ValueError("pass both engine and bus (embedded mode) or neither (own clients)")
    owns_clients = engine is None
    blobs = blob_store or open_blob_store(settings.blob_url)
    connection = DockerConnection(settings.docker_host, settings.docker_timeout_seconds)
    wheel = RuntimeWheel(
        settings.work_dir / "runtime-wheels",
        wheel=settings.runtime_wheel,
        source=settings.runtime_source,
    )
    # A given runner (tests) makes the question moot: only the default runner needs the engine.
    mode = resolve_mode(settings) if runner is None else _declared_mode(settings)
    if mode == "local-process":
        runner = runner or LocalProcessRunner(
            settings, blobs, wheel, base_python=settings.local_python or sys.executable
        )
        exporter = exporter or LocalProcessExporter()
    if mode == "local-process" and settings.mode == "auto":
        log.warning(
            "no Docker engine answered at %s: models will run as local processes from venvs "
            "built from the same wheelhouse (MODELBAY_BUILDER_MODE=local-process)",
            settings.docker_host or "DOCKER_HOST / the local socket",
        )
    log.info("builder mode: %s", mode)
    return BuilderService(
        settings,
        engine or create_engine(settings.database_url, application_name="modelbay-builder"),
        bus
        or create_bus(
            settings.bus_url, exchange=settings.events_exchange, connection_name="modelbay-builder"
        ),
        blobs,
        connection,
        runner or BuildRunner(settings, connection, blobs, wheel),
        exporter
        or DockerImageExporter(connection, RegistryCredentials(settings.registry_tokens())),
        owns_clients=owns_clients,
        mode=mode,
    )


def resolve_mode(settings: BuilderSettings) -> ResolvedMode:
    """`docker` or `local-process`; `auto` is `docker` when the engine answers a ping now."""
    if settings.mode != "auto":
        return settings.mode
    return "docker" if docker_answers(settings.docker_host) else "local-process"


def _declared_mode(settings: BuilderSettings) -> ResolvedMode:
    return "docker" if settings.mode == "auto" else settings.mode


def docker_answers(base_url: str | None) -> bool:
    import docker

    try:
        client = (
            docker.DockerClient(base_url=base_url, timeout=5)
            if base_url
            else docker.from_env(timeout=5)
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def run() -> None:
    """`python -m modelbay_builder`: configuration from the environment only."""
    run_service(BuilderSettings.load, build_service)
