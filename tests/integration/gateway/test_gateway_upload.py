"""The upload is proxied as a stream: an oversized body is refused without being read whole."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from gateway_limits import GATEWAY_MAX_UPLOAD
from gateway_stack import Stack
from modelbay.session import PushResult, Session

CHUNK = 64 * 1024


class CountingBody:
    """An upload body that records how much of it the server actually pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.total:
            self.pulled += CHUNK
            yield b"\0" * CHUNK


async def test_declared_oversize_is_refused_before_reading_the_body(stack: Stack) -> None:
    token = await stack.new_user("heidi")
    body = CountingBody(4 * GATEWAY_MAX_UPLOAD)
    async with stack.client(token) as client:
        response = await client.post(
            "/v1/models/heidi/huge/versions",
            content=body,
            headers={
                "Content-Type": "application/gzip",
                "Content-Length": str(body.total),
            },
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["max_bytes"] == GATEWAY_MAX_UPLOAD
    assert body.pulled <= CHUNK  # at most what the transport pre-read, not the body


async def test_streamed_oversize_stops_at_the_limit(stack: Stack) -> None:
    token = await stack.new_user("ivan")
    body = CountingBody(8 * GATEWAY_MAX_UPLOAD)
    async with stack.client(token) as client:
        # No Content-Length: chunked, so only counting while streaming can catch it.
        response = await client.post(
            "/v1/models/ivan/huge/versions",
            content=body,
            headers={"Content-Type": "application/gzip"},
        )
    assert response.status_code == 413
    assert "MODELBAY_GATEWAY_MAX_UPLOAD_BYTES" in response.json()["detail"]
    # The gateway stopped pulling a few chunks past the limit instead of reading 8x the limit.
    assert body.pulled <= GATEWAY_MAX_UPLOAD + 4 * CHUNK
    async with stack.client(token) as client:
        assert (await client.get("/v1/models/ivan/huge")).status_code == 404  # nothing stored


async def test_bad_bundle_is_relayed_as_onboardings_4xx(stack: Stack, tmp_path: Path) -> None:
    token = await stack.new_user("judy")
    async with stack.client(token) as client:
        response = await client.post(
            "/v1/models/judy/broken/versions",
            content=b"this is not a gzip archive",
            headers={"Content-Type": "application/gzip"},
        )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["instance"] == "/v1/models/judy/broken/versions"
    assert response.json().get("detail")


async def test_push_with_the_sdk_session(stack: Stack, archive: Path) -> None:
    """`modelbay push` (Session.push_bundle) speaks the gateway's upload route."""
    token = await stack.new_user("kim")
    transport = _SyncOverAsync(stack, asyncio.get_running_loop())

    def push() -> PushResult:
        session = Session("http://gateway", token, progress=False, transport=transport)
        return session.push_bundle(archive, "adder")

    result = await asyncio.to_thread(push)  # the SDK is synchronous
    assert (result.owner, result.name, result.version) == ("kim", "adder", 1)
    assert result.status_url == "http://gateway/v1/models/kim/adder/versions/1"


class _SyncOverAsync(httpx.BaseTransport):
    """A sync transport that runs each request against the in-process gateway on `loop`."""

    def __init__(self, stack: Stack, loop: asyncio.AbstractEventLoop) -> None:
        self._stack = stack
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def forward() -> httpx.Response:
            body = request.read()
            async with self._stack.client() as client:
                response = await client.request(
                    request.method, request.url.path, content=body, headers=request.headers
                )
                return httpx.Response(
                    response.status_code, headers=response.headers, content=response.content
                )

        return asyncio.run_coroutine_threadsafe(forward(), self._loop).result()
