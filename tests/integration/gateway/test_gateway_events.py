"""`GET /v1/events`: each subscriber gets the events of the models it may see, and no others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from gateway_stack import ADMIN_TOKEN, Stack, sse_events

GUARD_SECONDS = 60  # only so that a broken stream fails the test instead of hanging it


@asynccontextmanager
async def subscribed(
    stack: Stack, token: str, **params: Any
) -> AsyncIterator[tuple[httpx.Response, AsyncIterator[dict[str, Any]]]]:
    headers = params.pop("headers", {})
    async with (
        stack.client(token) as client,
        client.stream("GET", "/v1/events", params=params, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        # The hub has registered the subscriber once the greeting comment was sent.
        async for line in lines:
            if line == ": connected":
                break
        yield response, sse_events(lines)


async def next_event(events: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    async with asyncio.timeout(GUARD_SECONDS):
        return await anext(events)


async def test_subscribers_see_only_what_they_may_see(stack: Stack, archive_bytes: bytes) -> None:
    owner = await stack.new_user("sse-owner")
    other = await stack.new_user("sse-other")
    async with (
        subscribed(stack, owner) as (_, owner_events),
        subscribed(stack, other) as (_, other_events),
        subscribed(stack, ADMIN_TOKEN) as (_, admin_events),
    ):
        assert (await stack.push(owner, "sse-owner", "adder", archive_bytes)).status_code == 202
        assert (await stack.push(other, "sse-other", "adder", archive_bytes)).status_code == 202

        seen_by_owner = await next_event(owner_events)
        assert seen_by_owner["event"] == "modelbay.model.uploaded.v1"
        cloud_event = seen_by_owner["data"]
        assert cloud_event["specversion"] == "1.0"
        assert cloud_event["subject"] == "sse-owner/adder/1"
        assert seen_by_owner["id"] == cloud_event["id"]

        # The other user's first event is its own push: the owner's private upload, which was
        # published before it, never reached this stream.
        seen_by_other = await next_event(other_events)
        assert seen_by_other["data"]["subject"] == "sse-other/adder/1"

        # Administrators see everything, in order.
        subjects = {(await next_event(admin_events))["data"]["subject"] for _ in range(2)}
        assert subjects == {"sse-owner/adder/1", "sse-other/adder/1"}


async def test_public_models_events_reach_everyone_and_filters_narrow(
    stack: Stack, archive_bytes: bytes
) -> None:
    owner = await stack.new_user("sse-publisher")
    watcher = await stack.new_user("sse-watcher")
    assert (await stack.push(owner, "sse-publisher", "adder", archive_bytes)).status_code == 202
    detail = await stack.wait_for_version(owner, "sse-publisher", "adder", 1)
    await stack.make_ready("sse-publisher", "adder", 1, detail["bundle"]["sha256"])
    async with subscribed(stack, watcher, owner="sse-publisher") as (_, events):
        async with stack.client(owner) as client:
            published = await client.post(
                "/v1/models/sse-publisher/adder/publish",
                json={"description": "adds", "category": "regression", "license": "MIT"},
            )
            assert published.status_code == 200, published.text
        # Another user's (visible to nobody else) push must not show up in a filtered stream.
        event = await next_event(events)
    assert event["event"] == "modelbay.model.published.v1"
    assert event["data"]["data"]["visibility"] == "public"


async def test_last_event_id_resumes_after_a_reconnect(stack: Stack, archive_bytes: bytes) -> None:
    owner = await stack.new_user("sse-resumer")
    async with subscribed(stack, owner) as (_, events):
        assert (await stack.push(owner, "sse-resumer", "first", archive_bytes)).status_code == 202
        first = await next_event(events)
    # Disconnected: this push happens while nobody listens.
    assert (await stack.push(owner, "sse-resumer", "second", archive_bytes)).status_code == 202
    await stack.wait_for_version(owner, "sse-resumer", "second", 1)
    async with subscribed(
        stack, owner, headers={"Last-Event-ID": first["id"]}, owner="sse-resumer"
    ) as (_, events):
        missed = await next_event(events)
    assert missed["data"]["subject"] == "sse-resumer/second/1"
