"""A small client of the public `/v1` API, as an application developer would write it.

It only uses what docs/pipeline.md and docs/sdk.md document: bearer tokens, the version status
URL, search, publish and downloads. Pushes go through the SDK's `Session` (see `e2e_models.py`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from types import TracebackType
from typing import Any

import httpx

TERMINAL = ("ready", "failed")
# Only stops a hung pipeline (wheel downloads and docker builds take minutes on a busy machine);
# speed is measured in bench/pipeline, never asserted here.
PIPELINE_BOUND_SECONDS = 1200.0
CATALOG_LAG_BOUND_SECONDS = 60.0
# The test stack refuses uploads above this (413); the iris bundle is a few hundred kB.
MAX_UPLOAD_BYTES = 8 * 1024 * 1024


class Gateway:
    """An authenticated client of the gateway: one user's view of the platform."""

    def __init__(self, url: str, token: str, username: str = "") -> None:
        self.url = url
        self.token = token
        self.username = username
        self.http = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.http.aclose()

    async def registry_token(self, image_ref: str) -> str | None:
        """This user's pull token for the image's repository (the registry's realm, as
        `modelbay pull` asks it); None when the platform's registry is open."""
        repository = image_ref.split("/", 1)[1].rsplit(":", 1)[0]
        response = await self.http.get(
            "/v1/registry/token", params={"scope": f"repository:{repository}:pull"}
        )
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    async def version(self, owner: str, name: str, version: int) -> httpx.Response:
        return await self.http.get(f"/v1/models/{owner}/{name}/versions/{version}")

    async def follow(
        self, owner: str, name: str, version: int, bound: float = PIPELINE_BOUND_SECONDS
    ) -> dict[str, Any]:
        """Poll the status URL until the version is `ready` or `failed`; returns its detail.

        Returns the last detail seen when the bound passes, so the caller's assertion shows
        where the pipeline stopped."""
        deadline = time.monotonic() + bound
        unknown_until = time.monotonic() + CATALOG_LAG_BOUND_SECONDS
        detail: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = await self.version(owner, name, version)
            if response.status_code == 404 and time.monotonic() < unknown_until:
                # The catalog learns of a version from ModelUploaded, just after the 202.
                await asyncio.sleep(0.5)
                continue
            assert response.status_code == 200, _explain(response)
            detail = response.json()
            if detail["status"] in TERMINAL:
                return detail
            await asyncio.sleep(1.0)
        return detail

    async def search(self, **params: Any) -> httpx.Response:
        return await self.http.get("/v1/models", params=params)

    async def publish(self, owner: str, name: str, **body: Any) -> httpx.Response:
        return await self.http.post(f"/v1/models/{owner}/{name}/publish", json=body)


async def new_user(admin: Gateway, stem: str) -> Gateway:
    """A user with a unique name (`<stem>-<hex>`): image names stay unique across runs that
    share the registry."""
    username = f"{stem}-{uuid.uuid4().hex[:8]}"
    response = await admin.http.post("/v1/users", json={"username": username})
    assert response.status_code == 201, _explain(response)
    token = response.json()["token"]["token"]
    return Gateway(admin.url, token, username)


def _explain(response: httpx.Response) -> str:
    return (
        f"{response.request.method} {response.request.url} → {response.status_code}: "
        + (response.text[:2000])
    )


def explain(response: httpx.Response) -> str:
    """The request, status and body, for assertion messages."""
    return _explain(response)


def describe_failure(detail: dict[str, Any]) -> str:
    """A version's status with its reason and failure details, for assertion messages."""
    return (
        f"status={detail.get('status')!r} reason={detail.get('reason')!r} "
        f"failure={detail.get('failure')!r}"
    )
