"""Fixtures of the onboarding integration tests: the service wired to real Postgres (a fresh
database per test), real S3 (moto, under a prefix of its own per test) and the in-process bus.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from modelbay_common.events import Envelope
from modelbay_onboarding.main import Service, build_service
from modelbay_onboarding.settings import OnboardingSettings
from sqlalchemy import text

# The bundle helpers live with the unit tests; both tiers use the same real SDK bundles.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "onboarding"))

USER_HEADERS = {"X-Modelbay-User": "alice", "X-Modelbay-Org": "acme"}


@dataclass
class Onboarding:
    service: Service
    client: httpx.AsyncClient
    prefix: str
    list_objects: Callable[[], list[str]]
    events: list[Envelope] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def rows(self, query: str, **params: Any) -> list[Any]:
        async with self.service.engine.connect() as connection:
            return list((await connection.execute(text(query), params)).all())

    async def upload(self, path: str, body: bytes) -> httpx.Response:
        headers = {**USER_HEADERS, "Content-Type": "application/gzip"}
        return await self.client.post(f"/internal/uploads/{path}", content=body, headers=headers)

    async def wait_for(self, event_type: str, subject: str, bound: float = 900) -> Envelope:
        """The first event of `event_type` about `subject` (`owner/name/version`); the bound
        only stops a hung test, it is not a speed requirement."""

        async def arrival() -> Envelope:
            while True:
                for candidate in self.events:
                    if candidate.type == event_type and candidate.subject == subject:
                        return candidate
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(arrival(), timeout=bound)


OnboardingFactory = Callable[..., Awaitable[Onboarding]]


def _prefixed(blob_url: str, prefix: str) -> str:
    base, _, query = blob_url.partition("?")
    return f"{base.rstrip('/')}/{prefix}?{query}"


@pytest.fixture
async def onboarding_factory(
    fresh_database_url: str, s3_services: Any, tmp_path: Path
) -> AsyncIterator[OnboardingFactory]:
    from minio import Minio

    minio = Minio(
        s3_services.s3_endpoint,
        access_key=s3_services.s3_access_key,
        secret_key=s3_services.s3_secret_key,
        secure=False,
        region=s3_services.s3_region,
    )
    started: list[Onboarding] = []

    async def start(**overrides: Any) -> Onboarding:
        prefix = f"test-onboarding-{uuid.uuid4().hex[:12]}"
        options: dict[str, Any] = {
            "database_url": fresh_database_url,
            "bus_url": "memory://",
            "blob_url": _prefixed(s3_services.blob_url, prefix),
            "spool_dir": tmp_path,
            "resolver_enabled": False,
        }
        settings = OnboardingSettings(**{**options, **overrides})
        service = build_service(settings)

        def list_objects() -> list[str]:
            found = minio.list_objects(s3_services.s3_bucket, prefix=f"{prefix}/", recursive=True)
            return sorted(str(o.object_name)[len(prefix) + 1 :] for o in found)

        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.app), base_url="http://onboarding"
        )
        onboarding = Onboarding(service, client, prefix, list_objects)

        async def collect(envelope: Envelope) -> None:
            onboarding.events.append(envelope)
            onboarding.arrived.set()

        await service.bus.subscribe("test.collector", ["modelbay.model.#"], collect)
        await service.start()
        started.append(onboarding)
        return onboarding

    yield start
    for onboarding in started:
        await onboarding.client.aclose()
        await onboarding.service.stop()
        for name in onboarding.list_objects():
            minio.remove_object(s3_services.s3_bucket, f"{onboarding.prefix}/{name}")
