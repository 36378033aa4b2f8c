"""Slow clients cannot block pushes (issue 11, defect 3).

The gateway relays a push's body to onboarding as it arrives, one pooled connection per push.
Before the fix, 100 clients sending a byte every two seconds held the whole pool and a
legitimate push failed with 503 after 60 s. Here, over real sockets on loopback (gateway and
onboarding each under uvicorn, real Postgres): the pool to onboarding has `SLOW_CLIENTS`
connections, that many clients trickle a byte every 0.25 s, and then a legitimate push is made.
With the pacing rule the trickling clients are cut off with 408 once the grace period is over,
their upstream connections are released, and the legitimate push is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from gateway_stack import ADMIN, ADMIN_TOKEN
from modelbay_catalog.main import build_service as build_catalog
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.blob import open_blob_store
from modelbay_common.bus import InProcessBus
from modelbay_common.db import create_engine
from modelbay_gateway.main import build_service as build_gateway
from modelbay_gateway.settings import GatewaySettings
from modelbay_onboarding.main import build_service as build_onboarding
from modelbay_onboarding.settings import OnboardingSettings

SLOW_CLIENTS = 6
GRACE_SECONDS = 2.0
TRICKLE_SECONDS = 40.0  # how long a slow client keeps trickling if nobody cuts it off


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextlib.asynccontextmanager
async def _served(app: Any) -> AsyncIterator[str]:
    sock = _listening_socket()
    config = uvicorn.Config(app, log_config=None, lifespan="off", timeout_keep_alive=5)
    server = uvicorn.Server(config)
    # The socket already listens: connections wait in its backlog until the server accepts.
    task = asyncio.create_task(server.serve(sockets=[sock]))
    host, port = sock.getsockname()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
        sock.close()


async def _trickle(url: str, index: int) -> int:
    """A client that sends headers, then a byte every 0.25 s; the status it got, or 0."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /v1/models/{ADMIN}/slow{index}/versions HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
        "Content-Type: application/gzip\r\nContent-Length: 100000\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()

    async def send_slowly() -> None:
        for _ in range(int(TRICKLE_SECONDS / 0.25)):
            writer.write(b"\x1f")
            await writer.drain()
            await asyncio.sleep(0.25)

    sender = asyncio.create_task(send_slowly())
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=TRICKLE_SECONDS + 10)
    except (TimeoutError, ConnectionError):
        return 0
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
        writer.close()
    parts = status_line.split()
    return int(parts[1]) if len(parts) > 1 else 0


async def test_slow_clients_are_cut_off_and_a_legitimate_push_succeeds(
    fresh_database_url: str, tmp_path: Path, archive_bytes: bytes
) -> None:
    shared: dict[str, Any] = {
        "database_url": fresh_database_url,
        "bus_url": "memory://",
        "blob_url": tmp_path.as_uri(),
        "log_json": False,
    }
    engine = create_engine(fresh_database_url)
    bus = InProcessBus()
    blobs = open_blob_store(tmp_path.as_uri())
    await blobs.ensure_ready()
    onboarding = build_onboarding(
        OnboardingSettings(**shared, resolver_enabled=False),
        engine=engine,
        bus=bus,
        blob_store=blobs,
    )
    # A push first asks the catalog whether the name was deleted (a separate pool of its own).
    catalog = build_catalog(CatalogSettings(**shared), engine=engine, bus=bus)
    await bus.start()
    await onboarding.start()
    await catalog.start()
    try:
        async with _served(onboarding.app) as onboarding_url, _served(catalog.app) as catalog_url:
            gateway = build_gateway(
                GatewaySettings(
                    **shared,
                    admin_username=ADMIN,
                    admin_token=ADMIN_TOKEN,
                    onboarding_url=onboarding_url,
                    catalog_url=catalog_url,
                    upstream_max_connections=SLOW_CLIENTS,
                    upstream_timeout_seconds=20,
                    upload_idle_timeout_seconds=GRACE_SECONDS,
                    upload_min_bytes_per_second=1024,
                ),
                engine=engine,
                bus=bus,
                blob_store=blobs,
            )
            await gateway.start()
            try:
                async with _served(gateway.app) as gateway_url:
                    slow = [
                        asyncio.create_task(_trickle(gateway_url, i)) for i in range(SLOW_CLIENTS)
                    ]
                    await asyncio.sleep(1.0)  # every slow push now holds a pooled connection
                    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
                        pushed = await client.post(
                            f"/v1/models/{ADMIN}/legit/versions",
                            content=archive_bytes,
                            headers={
                                "Authorization": f"Bearer {ADMIN_TOKEN}",
                                "Content-Type": "application/gzip",
                            },
                        )
                    statuses = await asyncio.gather(*slow)
            finally:
                await gateway.stop()
    finally:
        await catalog.stop()
        await onboarding.stop()
        await bus.close()
        await engine.dispose()

    assert pushed.status_code == 202, pushed.text
    assert pushed.json()["version"] == 1
    assert statuses == [408] * SLOW_CLIENTS
