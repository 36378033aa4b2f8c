"""Pipeline events and request helpers shared by the catalog's integration tests."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from modelbay_catalog.main import CatalogService
from modelbay_common.bus import InProcessBus
from modelbay_common.events import (
    DependenciesResolved,
    Envelope,
    Event,
    ImageBuilt,
    InterfaceField,
    MethodInterface,
    ModelUploaded,
    envelope,
)

WAIT_SECONDS = 30.0  # a guard against hanging, never an assertion on speed
SHA = "ab" * 32


def uploaded(
    owner: str,
    name: str,
    version: int = 1,
    *,
    description: str = "",
    requirements: tuple[str, ...] = ("scikit-learn==1.5.2", "numpy==2.1.0"),
    method: str = "classify",
    inputs: tuple[str, ...] = ("sepal_length", "sepal_width"),
    owner_org: str | None = None,
) -> ModelUploaded:
    return ModelUploaded(
        owner=owner,
        name=name,
        version=version,
        upload_id=f"up-{uuid.uuid4().hex[:8]}",
        bundle_uri=f"s3://modelbay/bundles/sha256/{SHA}.tar.gz",
        bundle_sha256=SHA,
        bundle_size=1234,
        python_version="3.11.2",
        requirements=requirements,
        methods=(method,),
        uploaded_by=owner,
        description=description,
        license="MIT",
        owner_org=owner_org,
        interface=(
            MethodInterface(
                name=method,
                input_message=f"{method.title()}In",
                output_message=f"{method.title()}Out",
                inputs=tuple(InterfaceField(name=field, type="float") for field in inputs),
                outputs=(InterfaceField(name="value", type="int"),),
            ),
        ),
    )


def resolved(owner: str, name: str, version: int = 1) -> DependenciesResolved:
    return DependenciesResolved(
        owner=owner,
        name=name,
        version=version,
        bundle_uri=f"s3://modelbay/bundles/sha256/{SHA}.tar.gz",
        bundle_sha256=SHA,
        python_version="3.11.2",
        lock=("numpy==2.1.0", "scikit-learn==1.5.2", "scipy==1.14.1"),
        lock_hash="c" * 64,
        wheelhouse_uri="s3://modelbay/wheelhouses/" + "c" * 64 + ".tar",
    )


def built(owner: str, name: str, version: int = 1) -> ImageBuilt:
    return ImageBuilt(
        owner=owner,
        name=name,
        version=version,
        image_ref=f"127.0.0.1:5000/{owner}/{name}:{version}",
        image_digest="sha256:" + "d" * 64,
        image_size=200_000_000,
        sbom_uri=f"s3://modelbay/sboms/{owner}/{name}/{version}.cdx.json",
        build_seconds=4.5,
        validation_seconds=1.5,
    )


def wrap(event: Event, source: str = "/modelbay/test") -> Envelope:
    return envelope(event, source=source)


def headers(user: str | None = None, org: str | None = None, admin: bool = False) -> dict[str, str]:
    found = {"X-Modelbay-Admin": "true" if admin else "false"}
    if user:
        found["X-Modelbay-User"] = user
    if org:
        found["X-Modelbay-Org"] = org
    return found


async def wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    async def poll() -> None:
        # Polls the catalog's own API: its state lives in Postgres, there is nothing to await.
        for _ in itertools.count():
            if await check():
                return
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), WAIT_SECONDS)
    except TimeoutError:
        pytest.fail(f"gave up waiting for {what}")


@dataclass
class RunningCatalog:
    service: CatalogService
    client: httpx.AsyncClient
    bus: InProcessBus

    async def deliver(self, *events: Event | Envelope) -> None:
        """Hand events to the catalog's consumer as the bus would, and wait until handled."""
        for event in events:
            await self.bus.publish(event if isinstance(event, Envelope) else wrap(event))
        await self.bus.drain()

    async def model(self, owner: str, name: str, **caller: Any) -> httpx.Response:
        return await self.client.get(f"/internal/models/{owner}/{name}", headers=headers(**caller))
