"""Issue 15: onboarding, catalog and gateway health that tells the truth.

The three services run in-process on a private PostgreSQL (its own data directory and port; the
shared server is never touched), which is stopped and started again: `/readyz` answers 503
problem+json naming the database while it is down and 200 again after, by itself; `/healthz`
stays 200 through the outage (a restart would not help). Then the catalog's outbox relay task
is killed: `/healthz` answers 503 naming it, which is what should make an orchestrator restart
the process.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from modelbay_catalog.main import build_service as build_catalog
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.blob import open_blob_store
from modelbay_common.bus import InProcessBus
from modelbay_common.db import create_engine
from modelbay_common.embedded_pg import EmbeddedPostgres, find_free_port
from modelbay_common.outbox import OutboxRelay
from modelbay_common.serving import ServiceHost
from modelbay_embedded.inprocess import InProcessTransport
from modelbay_gateway.main import build_service as build_gateway
from modelbay_gateway.settings import GatewaySettings
from modelbay_onboarding.main import build_service as build_onboarding
from modelbay_onboarding.settings import OnboardingSettings

SERVICES = ("catalog", "onboarding", "gateway")
POLLS = 600  # a bound on waiting for recovery, never a timing assertion


@pytest.fixture
def private_postgres() -> Iterator[EmbeddedPostgres]:
    # Outside pytest's tmp_path: the server runs as another user when we are root.
    root = Path(tempfile.mkdtemp(prefix="modelbay-health-pg-"))
    server = EmbeddedPostgres(root / "postgres", port=find_free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Running:
    hosts: dict[str, ServiceHost]

    async def probe(self, service: str, path: str) -> httpx.Response:
        transport = InProcessTransport(self.hosts[service].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            return await client.get(path)

    async def statuses(self, path: str) -> dict[str, int]:
        return {name: (await self.probe(name, path)).status_code for name in SERVICES}


@pytest.fixture
async def running(private_postgres: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[Running]:
    shared: dict[str, Any] = {
        "database_url": private_postgres.url,
        "bus_url": "memory://",
        "blob_url": (tmp_path / "blobs").as_uri(),
        "log_json": False,
    }
    engine = create_engine(private_postgres.url)
    bus = InProcessBus()
    blob_store = open_blob_store(shared["blob_url"])
    await blob_store.ensure_ready()
    catalog = build_catalog(CatalogSettings(**shared), engine=engine, bus=bus)
    onboarding = build_onboarding(
        OnboardingSettings(**shared, resolver_enabled=False),
        engine=engine,
        bus=bus,
        blob_store=blob_store,
    )
    gateway = build_gateway(
        GatewaySettings(**shared, admin_username="root", admin_token="t" * 40),
        engine=engine,
        bus=bus,
        blob_store=blob_store,
        transports={
            "catalog": InProcessTransport(catalog.app),
            "onboarding": InProcessTransport(onboarding.app),
        },
    )
    await bus.start()
    hosts = {"catalog": catalog, "onboarding": onboarding, "gateway": gateway}
    for host in hosts.values():
        await host.start()
    try:
        yield Running(hosts)
    finally:
        for host in reversed(hosts.values()):
            await host.stop()
        await bus.close()
        await engine.dispose()


async def test_readiness_follows_the_database_and_liveness_does_not(
    running: Running, private_postgres: EmbeddedPostgres
) -> None:
    assert await running.statuses("/readyz") == dict.fromkeys(SERVICES, 200)
    assert await running.statuses("/healthz") == dict.fromkeys(SERVICES, 200)
    ready = (await running.probe("catalog", "/readyz")).json()
    assert ready["checks"] == {"database": "ok", "broker": "ok"}

    await asyncio.to_thread(private_postgres.stop)
    try:
        assert await running.statuses("/readyz") == dict.fromkeys(SERVICES, 503)
        answer = await running.probe("gateway", "/readyz")
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["status"] == 503
        assert problem["checks"]["database"] != "ok"
        assert problem["checks"]["broker"] == "ok"
        assert "database" in problem["detail"]
        # A database outage is not a reason to restart the process.
        assert await running.statuses("/healthz") == dict.fromkeys(SERVICES, 200)
    finally:
        await asyncio.to_thread(private_postgres.start)

    statuses: dict[str, int] = {}
    for _ in range(POLLS):
        statuses = await running.statuses("/readyz")
        if set(statuses.values()) == {200}:
            break
        await asyncio.sleep(0.05)
    assert statuses == dict.fromkeys(SERVICES, 200), "readiness did not recover by itself"


async def test_a_dead_outbox_relay_fails_liveness(running: Running) -> None:
    relay = running.hosts["catalog"].relay
    assert isinstance(relay, OutboxRelay)
    task = relay._task  # the relay's loop, killed as a crash would end it
    assert task is not None
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    answer = await running.probe("catalog", "/healthz")
    assert answer.status_code == 503
    problem = answer.json()
    assert "outbox relay" in problem["detail"]
    assert problem["checks"]["outbox relay"].startswith("the outbox relay stopped")
    # The others are unaffected, and readiness is about dependencies, not tasks.
    assert (await running.probe("onboarding", "/healthz")).status_code == 200
    assert (await running.probe("catalog", "/readyz")).status_code == 200
