"""Two instances for the federation tests (test_gateway_federation*.py): A and B, each an
in-process stack (gateway, catalog, onboarding) on its own Postgres database and blob directory,
B's catalog reaching A's gateway in-process, and B's builder played by the test (`Builder`
records each `MirrorRequested`; `Instances.answer` sends what the builder would)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from gateway_services import InProcessServices, in_process_services
from gateway_stack import ADMIN_TOKEN
from modelbay_common.events import (
    Envelope,
    MirrorFailed,
    MirrorRequested,
    VersionMirrored,
    envelope,
)
from modelbay_embedded.inprocess import InProcessTransport
from throwaway_databases import temporary_database

PROBLEM = "application/problem+json"
ORIGIN_URL = "http://origin.example"
PUBLISH = {"description": "adds two numbers", "category": "regression", "license": "MIT"}


@dataclass
class Builder:
    """B's builder as the test plays it: it records each MirrorRequested."""

    requests: list[MirrorRequested] = field(default_factory=list)

    async def handle(self, event: Envelope) -> None:
        self.requests.append(event.event_as(MirrorRequested))

    async def next_request(self, seen: int) -> MirrorRequested:
        for _ in range(400):
            if len(self.requests) > seen:
                return self.requests[seen]
            await asyncio.sleep(0.025)
        raise AssertionError("B's catalog never asked its builder to mirror")


@dataclass
class Instances:
    origin: InProcessServices
    mirror: InProcessServices
    builder: Builder
    peer_token: str  # an API token of an account on A, issued by A's administrator

    def origin_client(self, token: str | None = ADMIN_TOKEN) -> httpx.AsyncClient:
        return self.origin.stack.client(token)

    def mirror_client(self, token: str | None = ADMIN_TOKEN) -> httpx.AsyncClient:
        return self.mirror.stack.client(token)

    def use_origin_transport(self, real_network: bool = False) -> None:
        """B's catalog reaches A's gateway in-process (any URL), or the real network."""
        transport = None if real_network else InProcessTransport(self.origin.apps["gateway"])
        self.mirror.apps["catalog"].state.federation_http = httpx.AsyncClient(
            transport=transport, timeout=5
        )

    async def answer(self, event: VersionMirrored | MirrorFailed) -> None:
        bus = self.mirror.stack.bus
        await bus.publish(envelope(event, source="/modelbay/builder"))
        await bus.drain()


async def ensure_peer_a(instances: Instances) -> None:
    """Peer `a` (A, subscribed to alice's models) on B, registered by the first test needing it."""
    async with instances.mirror_client() as admin:
        if (await admin.get("/v1/admin/peers/a")).status_code == 404:
            registered = await admin.post(
                "/v1/admin/peers",
                json={
                    "name": "a",
                    "url": ORIGIN_URL,
                    "token": instances.peer_token,
                    "subscriptions": {"owners": ["alice"]},
                },
            )
            assert registered.status_code == 201, registered.text


async def publish_on_origin(
    instances: Instances, token: str, owner: str, name: str, archive: bytes
) -> dict[str, Any]:
    stack = instances.origin.stack
    assert (await stack.push(token, owner, name, archive)).status_code == 202
    detail = await stack.wait_for_version(token, owner, name, 1)
    await stack.make_ready(owner, name, 1, detail["bundle"]["sha256"])
    async with instances.origin_client(token) as client:
        published = await client.post(f"/v1/models/{owner}/{name}/publish", json=PUBLISH)
    assert published.status_code == 200, published.text
    return detail


def mirrored(request: MirrorRequested, digest: str) -> VersionMirrored:
    return VersionMirrored(
        owner=request.owner,
        name=request.name,
        version=request.version,
        peer=request.peer,
        origin_url=request.origin_url,
        origin_owner=request.origin_owner,
        origin_name=request.origin_name,
        origin_version=request.origin_version,
        image_ref=f"127.0.0.1:5000/{request.owner}/{request.name}@{digest}",
        image_digest=digest,
        verified_key_id="sha256:" + "0" * 64,
        artifacts=request.artifacts,
    )


def failed(request: MirrorRequested, reason: str, retryable: bool) -> MirrorFailed:
    return MirrorFailed(
        owner=request.owner,
        name=request.name,
        version=request.version,
        peer=request.peer,
        origin_url=request.origin_url,
        origin_owner=request.origin_owner,
        origin_name=request.origin_name,
        origin_version=request.origin_version,
        reason=reason,
        retryable=retryable,
    )


@contextlib.asynccontextmanager
async def browser_signed_in(
    instances: Instances, username: str, token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client signed in to B's web UI, like a browser."""
    async with httpx.AsyncClient(
        transport=InProcessTransport(instances.mirror.apps["gateway"]),
        base_url="http://gateway",
        timeout=60,
    ) as client:
        form = await client.get("/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf, "the sign-in page has no CSRF field"
        data = {"csrf_token": csrf.group(1), "username": username, "token": token}
        assert (await client.post("/signin", data=data)).status_code in (200, 303)
        yield client


@contextlib.asynccontextmanager
async def two_instances(
    origin_database: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Instances]:
    """A on `origin_database`, B on a database of its own; B syncs only when told (sync now),
    so each step of a test is deterministic, and retries after 0.01 s."""
    mirror_catalog = {"federation_sync_enabled": False, "federation_retry_base_seconds": 0.01}
    async with (
        temporary_database(postgres_url, "test_mirror") as mirror_database,
        in_process_services(origin_database, tmp_path_factory.mktemp("a")) as origin,
        in_process_services(
            mirror_database, tmp_path_factory.mktemp("b"), catalog=mirror_catalog
        ) as mirror,
    ):
        builder = Builder()
        await mirror.stack.bus.subscribe("test.builder", [MirrorRequested.type], builder.handle)
        peer_token = await origin.stack.new_user("peer-b")
        found = Instances(origin, mirror, builder, peer_token)
        found.use_origin_transport()
        yield found
