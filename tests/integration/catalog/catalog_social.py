"""Helpers of the catalog's community tests: models made public, outbox events by type."""

from __future__ import annotations

from typing import Any

import httpx
from catalog_events import RunningCatalog, built, headers, resolved, uploaded
from sqlalchemy import text

PUBLISH = {"description": "Iris flowers", "category": "classification", "license": "MIT"}


async def public_model(catalog: RunningCatalog, owner: str, name: str, versions: int = 1) -> None:
    """A model with `versions` ready versions, published for everyone to see."""
    for number in range(1, versions + 1):
        await catalog.deliver(
            uploaded(owner, name, number), resolved(owner, name, number), built(owner, name, number)
        )
    response = await catalog.client.post(
        f"/internal/models/{owner}/{name}/publish", json=PUBLISH, headers=headers(owner)
    )
    assert response.status_code == 200, response.text


async def private_model(catalog: RunningCatalog, owner: str, name: str) -> None:
    await catalog.deliver(uploaded(owner, name))


async def outbox_events(catalog: RunningCatalog, prefix: str = "") -> list[dict[str, Any]]:
    """The catalog's outbox payloads (CloudEvents) whose type starts with `prefix`, oldest first."""
    async with catalog.service.sessions() as session:
        rows = await session.execute(
            text(
                "SELECT payload FROM catalog.outbox WHERE event_type LIKE :prefix "
                "ORDER BY created_at, event_type"
            ),
            {"prefix": prefix + "%"},
        )
        return [row[0] for row in rows]


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The problem+json body of `response`, checked to be `status` of type `slug`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/" + slug), body
    return body
