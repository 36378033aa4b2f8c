"""The one service skeleton: clients, start/stop order, and `python -m modelbay_<service>`.

Every service's `main.py` declares what it is made of and hands it to a :class:`ServiceHost`:

- its schema (whose Alembic migrations run first),
- a ``{consumer name: (event types, handler)}`` table,
- its ASGI app,
- extra workers (anything with ``start``/``stop``: the builder's build worker, the local-process
  runner, the gateway's bootstrap of its administrator),
- whether it has an outbox to relay (and how often the relay polls when no NOTIFY wakes it).

The host starts them in one order, the same for every service::

    migrate → blob store ready → subscribe → bus start → outbox relay → extra workers

and stops them in the reverse order. Subscriptions come before the bus starts so no event
arrives at a queue nobody consumes yet; the relay comes after the bus because it publishes; the
workers come last because they emit events the relay must be running to send.

Who closes a client: :class:`Clients` opens the engine, bus and blob store a service was not given
and closes only those. The embedded mode and tests inject shared clients (then they start the bus
before the services, because relays publish at once, and close the clients themselves).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncEngine

from modelbay_common.blob import BlobStore, open_blob_store
from modelbay_common.bus import Bus, Handler, create_bus
from modelbay_common.db import SessionFactory, create_engine, session_factory
from modelbay_common.health import HandlersInFlight, HostHealth, install_health_routes
from modelbay_common.host_status import StatusExtra, install_status_route, service_status
from modelbay_common.logging import configure_logging
from modelbay_common.metrics import Probe, scrape_probes
from modelbay_common.observability import (
    dead_letter_probe,
    install_metrics,
    instrumented,
    outbox_probe,
)
from modelbay_common.settings import ServiceSettings
from modelbay_common.tracing import configure_tracing, install_tracing, shutdown_tracing

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

log = logging.getLogger(__name__)

ConsumerTable = Mapping[str, tuple[Iterable[str], Handler]]
"""``{consumer name: (event types it handles, handler)}``; the name is the queue."""

Migrate = Callable[[str, str], Awaitable[None]]
"""``migrate(schema, database_url)``: bring the schema's tables to the newest revision."""


@runtime_checkable
class Worker(Protocol):
    """Anything the host starts after the relay and stops before it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Step:
    """A worker made of a start-up task, a clean-up, or both (e.g. the gateway's bootstrap
    administrator; closing a client the service opened that the host does not know)."""

    on_start: Callable[[], Awaitable[object]] | None = None
    on_stop: Callable[[], Awaitable[object]] | None = None

    async def start(self) -> None:
        if self.on_start is not None:
            await self.on_start()

    async def stop(self) -> None:
        if self.on_stop is not None:
            await self.on_stop()


class ClientsNotOpenedError(RuntimeError):
    """A service asked for a client it declared it does not use (the catalog's blob store)."""


@dataclass(frozen=True)
class Clients:
    """The engine, bus and blob store of one service, and which of them it must close."""

    database_url: str
    engine: AsyncEngine
    bus: Bus
    sessions: SessionFactory
    blob_store_or_none: BlobStore | None
    owns_engine: bool
    owns_bus: bool
    owns_blob_store: bool

    @classmethod
    def open(
        cls,
        settings: ServiceSettings,
        name: str,
        *,
        engine: AsyncEngine | None = None,
        bus: Bus | None = None,
        blob_store: BlobStore | None = None,
        uses_blobs: bool = True,
    ) -> Clients:
        """Use the given clients; open the others from `settings` (no I/O happens here).

        `name` labels the Postgres connections and the AMQP connection (`modelbay-<name>`), so an
        operator sees which service holds them.
        """
        label = f"modelbay-{name}"
        own_engine = engine or create_engine(settings.database_url, application_name=label)
        own_bus = bus or create_bus(
            settings.bus_url, exchange=settings.events_exchange, connection_name=label
        )
        blobs = blob_store
        if blobs is None and uses_blobs:
            blobs = open_blob_store(settings.blob_url)
        return cls(
            database_url=settings.database_url,
            engine=own_engine,
            bus=own_bus,
            sessions=session_factory(own_engine),
            blob_store_or_none=blobs,
            owns_engine=engine is None,
            owns_bus=bus is None,
            owns_blob_store=blob_store is None and blobs is not None,
        )

    @property
    def blob_store(self) -> BlobStore:
        if self.blob_store_or_none is None:
            raise ClientsNotOpenedError("this service was opened without a blob store")
        return self.blob_store_or_none


def _outbox_relay(clients: Clients, schema: str, poll_seconds: float) -> Worker:
    from modelbay_common.outbox import OutboxRelay  # loads SQLAlchemy Core tables; start-up only

    return OutboxRelay(clients.sessions, clients.bus, schema, poll_interval=poll_seconds)


async def _upgrade(schema: str, database_url: str) -> None:
    from modelbay_common.migrations import upgrade  # Alembic is only needed once, at start-up

    await upgrade(schema, database_url)


class ServiceHost:
    """A running service: its app plus the start/stop order above. Start once, stop once."""

    def __init__(
        self,
        clients: Clients,
        *,
        schema: str,
        app: Any,
        consumers: ConsumerTable | None = None,
        workers: Sequence[Worker] = (),
        outbox_poll_seconds: float | None = None,
        migrate: Migrate = _upgrade,
        make_relay: Callable[[Clients, str, float], Worker] = _outbox_relay,
        probes: Mapping[str, Probe] | None = None,
        own_health_routes: bool = False,
        status_extras: StatusExtra | None = None,
        handler_deadline_seconds: float = 300.0,
    ) -> None:
        """`outbox_poll_seconds=None` means the service has no outbox (the gateway).

        `probes` are the service's own scrape-time reads (the builder's queue by status), run
        with the host's outbox and dead-letter probes while it is started.
        `own_health_routes=True` keeps the app's `/healthz` and `/readyz` (the builder's); else
        the host's (`modelbay_common.health`) answer them. `status_extras` adds the service's
        own figures to its `/internal/status` (`modelbay_common.host_status`).
        `handler_deadline_seconds`: an event handler running longer is wedged (`/healthz` 503);
        give it the longest a handler may legitimately take (onboarding's resolver runs pip).

        `migrate` and `make_relay` are seams for unit tests of the order; services keep the
        defaults (Alembic, `OutboxRelay`).
        """
        self.clients = clients
        self.schema = schema
        self.app = app
        self.consumers: dict[str, tuple[tuple[str, ...], Handler]] = {
            name: (tuple(types), handler) for name, (types, handler) in (consumers or {}).items()
        }
        self.workers = tuple(workers)
        self.relay = (
            None
            if outbox_poll_seconds is None
            else make_relay(clients, schema, outbox_poll_seconds)
        )
        self._migrate = migrate
        self._probes = dict(probes or {})
        self._running: AsyncExitStack | None = None
        self.handlers_in_flight = HandlersInFlight(handler_deadline_seconds)
        self.health = HostHealth(
            schema, clients.sessions, clients.bus, self.relay, handlers=self.handlers_in_flight
        )
        if app is not None:
            # Before the app serves: Starlette refuses middleware once it has started.
            install_metrics(app, schema)
            install_tracing(app, schema)  # outermost: the server span covers the metrics too
            if not own_health_routes:
                install_health_routes(app, self.health)
            install_status_route(app, self.status)
        self._status_extras = status_extras

    @property
    def engine(self) -> AsyncEngine:
        return self.clients.engine

    @property
    def bus(self) -> Bus:
        return self.clients.bus

    @property
    def sessions(self) -> SessionFactory:
        return self.clients.sessions

    @property
    def blob_store(self) -> BlobStore:
        return self.clients.blob_store

    @property
    def started(self) -> bool:
        return self._running is not None

    async def start(self) -> None:
        """Start everything in order; if a step fails, stop what already started and re-raise."""
        if self._running is not None:
            return
        async with AsyncExitStack() as stack:
            self._close_owned_clients_last(stack)
            await self._migrate(self.schema, self.clients.database_url)
            if self.clients.owns_blob_store:
                await self.clients.blob_store.ensure_ready()
            for name, (event_types, handler) in self.consumers.items():
                watched = instrumented(name, handler, self.handlers_in_flight)
                await self.clients.bus.subscribe(name, event_types, watched)
            if self.clients.owns_bus:
                await self.clients.bus.start()
                stack.push_async_callback(self.clients.bus.close)
            for worker in (self.relay, *self.workers):
                if worker is not None:
                    await worker.start()
                    stack.push_async_callback(worker.stop)
            self._register_probes(stack)
            self._running = stack.pop_all()
        self.health.started = True
        log.info("%s started", self.schema)

    async def status(self) -> dict[str, Any]:
        """This service's part of the operator's view (`GET /v1/admin/status`)."""
        return await service_status(
            service=self.schema,
            health=self.health,
            sessions=self.clients.sessions,
            has_outbox=self.relay is not None,
            bus=self.clients.bus,
            consumers=list(self.consumers),
            extras=self._status_extras,
        )

    def _register_probes(self, stack: AsyncExitStack) -> None:
        """Scrape-time reads of this service's outbox and dead letters, removed on stop."""
        own = dict(self._probes)
        if self.relay is not None:
            own["outbox"] = outbox_probe(self.schema, self.clients.sessions)
        dead_letters = dead_letter_probe(self.clients.bus, list(self.consumers))
        if dead_letters is not None:
            own["dlq"] = dead_letters
        probes = scrape_probes()
        for name, probe in own.items():
            # One process may hold several hosts of a service (tests): names must not collide.
            key = f"{self.schema}:{name}:{id(self):x}"
            probes.register(key, probe, label=f"{self.schema}:{name}")
            stack.callback(probes.unregister, key)

    async def stop(self) -> None:
        """Workers, then the relay, then the bus and engine this service opened."""
        running, self._running = self._running, None
        self.health.started = False  # readiness fails first, so no new work is routed here
        if running is None:
            await self._dispose_owned_engine()  # built, never started: the pool may still exist
            return
        await running.aclose()

    def _close_owned_clients_last(self, stack: AsyncExitStack) -> None:
        # Pushed first, so unwound last: after every worker and the bus.
        stack.push_async_callback(self._dispose_owned_engine)

    async def _dispose_owned_engine(self) -> None:
        if self.clients.owns_engine:
            await self.clients.engine.dispose()


class RunnableService(Protocol):
    """What a service's `build_service(settings)` returns."""

    @property
    def app(self) -> Any: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def serve(service: RunnableService, settings: ServiceSettings) -> None:
    """Start `service`, serve its app on the configured host and port until SIGTERM or SIGINT,
    then stop it: in-flight requests finish, the host hands back what it holds, exit status 0."""
    from modelbay_common.http_server import server_config
    from modelbay_common.shutdown import GracefulServer  # only process entrypoints need a server

    await service.start()
    freeze_startup_heap()
    try:
        config = server_config(
            service.app,
            host=settings.http_host,
            port=settings.http_port,
            header_timeout=settings.http_header_timeout_seconds,
            keep_alive=settings.http_keep_alive_seconds,
        )
        # Returns after SIGTERM/SIGINT (no re-raise), so the host below always stops.
        await GracefulServer(config).serve()
    finally:
        await service.stop()


def freeze_startup_heap() -> None:
    """Move everything alive once the service has started (imported modules, the app and its
    routes, ORM metadata, pydantic schemas: ~130,000-180,000 objects) out of the cyclic
    collector's reach.

    Why: a full (generation 2) collection walks every tracked object, and under load one came
    every few seconds in the gateway and the catalog: 100-430 ms each on this 2-core machine at
    load 6, the event loop stopped meanwhile, so every request in flight waited — the ~250 ms
    p99 of every catalog benchmark cell (docs/benchmarks.md, "The 250 ms tail"). These objects
    live as long as the process; frozen, they are never walked again, and a full collection
    walks only what requests left behind. Garbage first (one collection at start-up), so no
    unreachable cycle is frozen for good.
    """
    gc.collect()
    gc.freeze()


def run_service(
    load_settings: Callable[[], SettingsT],
    build_service: Callable[[SettingsT], RunnableService],
) -> None:
    """The body of every `python -m modelbay_<service>`: configuration from the environment."""
    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    service = build_service(settings)
    # OTLP export only when OTEL_EXPORTER_OTLP_ENDPOINT is set (modelbay_common.tracing).
    configure_tracing(f"modelbay-{getattr(service, 'schema', 'service')}")
    try:
        asyncio.run(serve(service, settings))
    finally:
        shutdown_tracing()  # the last batch of spans leaves before the process does
