"""The gateway with the real catalog and onboarding, composed in-process on real Postgres.

Like the embedded mode: one event loop, the in-process bus, a filesystem blob store, and the
gateway calling the other services' apps through `InProcessTransport`. The onboarding resolver
and the builder are left out (they would run pip and Docker); tests that need a version to be
`ready` publish the builder's events themselves, as the builder would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from modelbay_common.blob import keys
from modelbay_common.bus import InProcessBus
from modelbay_common.events import DependenciesResolved, ImageBuilt, envelope
from modelbay_embedded.inprocess import InProcessTransport

ADMIN = "root"
ADMIN_TOKEN = "admin-token-for-the-gateway-tests-0123456789"


@dataclass
class Stack:
    gateway_app: Any
    bus: InProcessBus
    database_url: str
    blob_dir: Path

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            transport=InProcessTransport(self.gateway_app),
            base_url="http://gateway",
            headers=headers,
            timeout=60,
        )

    async def new_user(self, username: str, org: str | None = None) -> str:
        async with self.client(ADMIN_TOKEN) as admin:
            response = await admin.post("/v1/users", json={"username": username, "org": org})
        assert response.status_code == 201, response.text
        return str(response.json()["token"]["token"])

    async def push(self, token: str, owner: str, name: str, archive: bytes) -> httpx.Response:
        async with self.client(token) as client:
            return await client.post(
                f"/v1/models/{owner}/{name}/versions",
                content=archive,
                headers={"Content-Type": "application/gzip"},
            )

    async def wait_for_version(
        self, token: str, owner: str, name: str, version: int
    ) -> dict[str, Any]:
        """The version as the catalog reports it, once its ModelUploaded went through the
        onboarding outbox and the bus (relayed asynchronously after the upload's commit)."""
        async with self.client(token) as client:
            for _ in range(600):
                response = await client.get(f"/v1/models/{owner}/{name}/versions/{version}")
                if response.status_code == 200:
                    return dict(response.json())
                await asyncio.sleep(0.05)
        raise AssertionError(f"the catalog never recorded {owner}/{name} version {version}")

    async def make_ready(self, owner: str, name: str, version: int, bundle_sha256: str) -> None:
        """Publish what the resolver and the builder would, and wait until the catalog saw it."""
        sha = bundle_sha256
        events = [
            DependenciesResolved(
                owner=owner,
                name=name,
                version=version,
                bundle_uri=keys.bundle_key(sha),
                bundle_sha256=sha,
                python_version="3.11",
                lock=(),
                lock_hash=sha,
                wheelhouse_uri=keys.wheelhouse_key(sha),
            ),
            ImageBuilt(
                owner=owner,
                name=name,
                version=version,
                image_ref=f"127.0.0.1:5000/{owner}/{name}:{version}",
                image_digest="sha256:" + sha,
                image_size=1,
                build_seconds=1.0,
                validation_seconds=1.0,
            ),
        ]
        for event in events:
            await self.bus.publish(envelope(event, source="/modelbay/tests"))
            await self.bus.drain()


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The events in the lines of an SSE stream: {"id", "event", "data": <CloudEvent dict>}."""
    current: dict[str, Any] = {}
    async for line in lines:
        if line == "":
            if "data" in current:
                yield current
            current = {}
        elif line.startswith(":") or line.startswith("retry:"):
            continue
        else:
            field, _, value = line.partition(": ")
            current[field] = json.loads(value) if field == "data" else value
