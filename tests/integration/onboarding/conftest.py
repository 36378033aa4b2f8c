"""Fixtures of the onboarding integration tests: the service wired to real Postgres (a fresh
database per test), real S3 (moto, under a prefix of its own per test) and the in-process bus.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from modelbay_common.events import Envelope
from modelbay_common.internal_auth import InternalAuth
from modelbay_onboarding.main import build_service
from modelbay_onboarding.settings import OnboardingSettings
from onboarding_harness import Onboarding, OnboardingFactory


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
            transport=httpx.ASGITransport(app=service.app),
            base_url="http://onboarding",
            auth=InternalAuth(),
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
