"""Helpers of the organisation, alias and publish-approval tests: a stack whose catalog reviews
publications, a ready model in one call, the events a schema's outbox holds, problem checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gateway_limits import GATEWAY_MAX_UPLOAD
from gateway_services import in_process_services
from gateway_stack import ADMIN_TOKEN, Stack
from modelbay_common.db import create_engine
from sqlalchemy import text

PROBLEM = "application/problem+json"
# What a publication says of the model; tests add the visibility they ask for.
PUBLISH = {"description": "Counts birds", "category": "vision", "license": "MIT"}


def reviewing_stack(**catalog: Any) -> Any:
    """A module's `stack` fixture: the gateway tests' stack with the catalog's publish-approval
    settings `catalog` (`publish_approval`, `publish_approval_owners`). Use it as
    `stack = reviewing_stack(publish_approval="required")` in the test module."""

    @pytest.fixture(scope="module")
    async def stack(
        module_database_url: str, tmp_path_factory: pytest.TempPathFactory
    ) -> AsyncIterator[Stack]:
        async with in_process_services(
            module_database_url,
            tmp_path_factory.mktemp("blobs"),
            catalog=catalog,
            gateway={"max_upload_bytes": GATEWAY_MAX_UPLOAD},
        ) as services:
            yield services.stack

    return stack


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with this status whose type names `slug`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(slug), body
    return body


async def pushed_version(stack: Stack, token: str, owner: str, name: str, archive: bytes) -> int:
    pushed = await stack.push(token, owner, name, archive)
    assert pushed.status_code == 202, pushed.text
    return int(pushed.json()["version"])


async def ready_version(stack: Stack, token: str, owner: str, name: str, version: int) -> None:
    detail = await stack.wait_for_version(token, owner, name, version)
    await stack.make_ready(owner, name, version, detail["bundle"]["sha256"])


async def ready_model(stack: Stack, token: str, owner: str, name: str, archive: bytes) -> int:
    """Push `archive` as `owner/name` and mark the new version ready; its number."""
    version = await pushed_version(stack, token, owner, name, archive)
    await ready_version(stack, token, owner, name, version)
    return version


async def new_org(stack: Stack, owner_token: str, org: str, members: dict[str, str]) -> None:
    """Create `org` as the owner of `owner_token` and add `members` ({username: role})."""
    async with stack.client(owner_token) as client:
        created = await client.post("/v1/orgs", json={"name": org})
        assert created.status_code == 201, created.text
        for username, role in members.items():
            added = await client.put(f"/v1/orgs/{org}/members/{username}", json={"role": role})
            assert added.status_code == 200, added.text


async def grant_publisher(stack: Stack, username: str) -> None:
    async with stack.client(ADMIN_TOKEN) as admin:
        granted = await admin.put(f"/v1/users/{username}/publisher", json={"publisher": True})
    assert granted.status_code == 200, granted.text
    assert granted.json()["is_publisher"] is True


async def outbox_events(stack: Stack, schema: str, subject_prefix: str) -> list[dict[str, Any]]:
    """The events of `schema`'s outbox whose subject starts with `subject_prefix`, in order."""
    assert schema in ("catalog", "gateway")
    engine = create_engine(stack.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    f"SELECT payload FROM {schema}.outbox "
                    "WHERE payload->>'subject' LIKE :prefix ORDER BY created_at, id"
                ),
                {"prefix": subject_prefix + "%"},
            )
            return [dict(row[0]) for row in rows]
    finally:
        await engine.dispose()


async def unsent_outbox_rows(stack: Stack, schema: str) -> int:
    """How many events of `schema`'s outbox the relay has not sent yet."""
    assert schema in ("catalog", "gateway")
    engine = create_engine(stack.database_url)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(
                text(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL")
            )
            return int(count or 0)
    finally:
        await engine.dispose()
