"""The service host: one start order, its reverse to stop, and only owned clients closed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import pytest
from modelbay_common.blob import BlobStore
from modelbay_common.bus import Handler, InProcessBus
from modelbay_common.events import Envelope
from modelbay_common.serving import Clients, ClientsNotOpenedError, ServiceHost
from modelbay_common.settings import ServiceSettings
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

DATABASE_URL = "postgresql+asyncpg://u:p@127.0.0.1:1/unused"


class Journal:
    """Every step the host takes, in order."""

    def __init__(self) -> None:
        self.steps: list[str] = []


class RecordingBus(InProcessBus):
    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    async def subscribe(self, consumer: str, event_types: Iterable[str], handler: Handler) -> None:
        self.journal.steps.append(f"subscribe {consumer} {sorted(event_types)}")
        await super().subscribe(consumer, event_types, handler)

    async def start(self) -> None:
        self.journal.steps.append("bus start")
        await super().start()

    async def close(self) -> None:
        self.journal.steps.append("bus close")
        await super().close()


class RecordingEngine:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def dispose(self) -> None:
        self.journal.steps.append("engine dispose")


class RecordingBlobStore:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def ensure_ready(self) -> None:
        self.journal.steps.append("blob store ready")


class RecordingWorker:
    def __init__(self, journal: Journal, name: str, *, fail_on_start: bool = False) -> None:
        self.journal, self.name, self.fail_on_start = journal, name, fail_on_start

    async def start(self) -> None:
        if self.fail_on_start:
            raise RuntimeError(f"{self.name} cannot start")
        self.journal.steps.append(f"{self.name} start")

    async def stop(self) -> None:
        self.journal.steps.append(f"{self.name} stop")


async def ignore(envelope: Envelope) -> None:
    del envelope


def clients(journal: Journal, *, owned: bool) -> Clients:
    engine = cast(AsyncEngine, RecordingEngine(journal))
    return Clients(
        database_url=DATABASE_URL,
        engine=engine,
        bus=RecordingBus(journal),
        sessions=async_sessionmaker(engine),
        blob_store_or_none=cast(BlobStore, RecordingBlobStore(journal)),
        owns_engine=owned,
        owns_bus=owned,
        owns_blob_store=owned,
    )


def host(journal: Journal, *, owned: bool, workers: list[RecordingWorker] | None = None) -> Any:
    async def migrate(schema: str, database_url: str) -> None:
        journal.steps.append(f"migrate {schema}")

    def make_relay(clients: Clients, schema: str, poll_seconds: float) -> RecordingWorker:
        return RecordingWorker(journal, f"relay {schema} every {poll_seconds}s")

    return ServiceHost(
        clients(journal, owned=owned),
        schema="catalog",
        app=object(),
        consumers={"catalog.versions": (["modelbay.model.b.v1", "modelbay.model.a.v1"], ignore)},
        workers=workers
        if workers is not None
        else [RecordingWorker(journal, "worker 1"), RecordingWorker(journal, "worker 2")],
        outbox_poll_seconds=1.0,
        migrate=migrate,
        make_relay=make_relay,
    )


async def test_owned_clients_start_in_order_and_stop_in_reverse() -> None:
    journal = Journal()
    service = host(journal, owned=True)
    await service.start()
    await service.stop()
    assert journal.steps == [
        "migrate catalog",
        "blob store ready",
        "subscribe catalog.versions ['modelbay.model.a.v1', 'modelbay.model.b.v1']",
        "bus start",
        "relay catalog every 1.0s start",
        "worker 1 start",
        "worker 2 start",
        "worker 2 stop",
        "worker 1 stop",
        "relay catalog every 1.0s stop",
        "bus close",
        "engine dispose",
    ]


async def test_injected_clients_are_neither_started_nor_closed() -> None:
    journal = Journal()
    service = host(journal, owned=False, workers=[])
    await service.start()
    await service.stop()
    assert journal.steps == [
        "migrate catalog",
        "subscribe catalog.versions ['modelbay.model.a.v1', 'modelbay.model.b.v1']",
        "relay catalog every 1.0s start",
        "relay catalog every 1.0s stop",
    ]


async def test_a_step_that_fails_stops_what_already_started() -> None:
    journal = Journal()
    service = host(
        journal,
        owned=True,
        workers=[
            RecordingWorker(journal, "worker 1"),
            RecordingWorker(journal, "w2", fail_on_start=True),
        ],
    )
    with pytest.raises(RuntimeError, match="w2 cannot start"):
        await service.start()
    assert journal.steps[-4:] == [
        "worker 1 stop",
        "relay catalog every 1.0s stop",
        "bus close",
        "engine dispose",
    ]
    assert not service.started


async def test_start_twice_starts_once_and_stop_without_start_only_disposes_the_engine() -> None:
    journal = Journal()
    service = host(journal, owned=True, workers=[])
    await service.start()
    await service.start()
    assert journal.steps.count("migrate catalog") == 1
    await service.stop()
    journal.steps.clear()
    await service.stop()
    assert journal.steps == ["engine dispose"]


async def test_a_service_without_an_outbox_has_no_relay() -> None:
    journal = Journal()

    async def migrate(schema: str, database_url: str) -> None:
        journal.steps.append(f"migrate {schema} at {database_url}")

    service = ServiceHost(
        clients(journal, owned=False), schema="gateway", app=object(), migrate=migrate
    )
    await service.start()
    await service.stop()
    assert service.relay is None
    assert journal.steps == [f"migrate gateway at {DATABASE_URL}"]


def test_clients_open_only_what_was_not_given_and_no_blob_store_when_unused() -> None:
    settings = ServiceSettings(database_url=DATABASE_URL, bus_url="memory://", blob_url="file:///x")
    bus = InProcessBus()
    opened = Clients.open(settings, "catalog", bus=bus, uses_blobs=False)
    assert opened.bus is bus
    assert (opened.owns_engine, opened.owns_bus, opened.owns_blob_store) == (True, False, False)
    with pytest.raises(ClientsNotOpenedError):
        _ = opened.blob_store
    with_blobs = Clients.open(settings, "builder")
    assert with_blobs.owns_blob_store
    assert with_blobs.blob_store is not None
