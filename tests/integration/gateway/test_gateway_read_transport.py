"""The gateway's lean transport for internal GETs (read_transport.py) against real HTTP servers
on loopback: uvicorn serving a Starlette app, and a raw asyncio server that misbehaves on cue."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from modelbay_common.internal_auth import InternalAuth, verify
from modelbay_gateway.read_transport import LeanReadTransport
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

SECRET = "a-secret-for-the-read-transport-test-0123456789"
BIG = b"x" * 300_000
WAIT = 30.0  # a guard against hanging, never an assertion on speed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def echo(request: Request) -> Response:
    headers = request.headers
    verify(SECRET, request.method, request.url.path + "?" + request.url.query, headers.items())
    return JSONResponse(
        {"query": request.url.query, "user": headers.get("x-modelbay-user"), "method": "GET"},
        headers={"x-peer-port": str(request.client.port if request.client else 0)},
    )


async def chunked(_: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for start in range(0, len(BIG), 50_000):
            yield BIG[start : start + 50_000]

    return StreamingResponse(parts(), media_type="application/octet-stream")


async def posted(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


async def missing(_: Request) -> Response:
    return JSONResponse({"title": "Not found"}, status_code=404)


APP = Starlette(
    routes=[
        Route("/echo", echo),
        Route("/chunked", chunked),
        Route("/posted", posted, methods=["POST"]),
        Route("/missing", missing),
    ]
)


@pytest.fixture
async def server() -> AsyncIterator[str]:
    port = _free_port()
    served = uvicorn.Server(uvicorn.Config(APP, port=port, log_level="warning"))
    serving = asyncio.create_task(served.serve())
    try:
        while not served.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        served.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, WAIT)


def _client(base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base, transport=LeanReadTransport(), auth=InternalAuth(SECRET), timeout=WAIT
    )


async def test_signed_gets_reuse_one_connection_and_answers_are_whole(server: str) -> None:
    async with _client(server) as client:
        first = await client.get(
            "/echo", params={"q": "ünïcode & more"}, headers={"X-Modelbay-User": "ann"}
        )
        second = await client.get("/echo", params={"q": "again"})
        big = await client.get("/chunked")
        missing = await client.get("/missing")
    assert first.status_code == 200
    assert first.json() == {"query": "q=%C3%BCn%C3%AFcode+%26+more", "user": "ann", "method": "GET"}
    assert first.headers["x-peer-port"] == second.headers["x-peer-port"]  # kept alive
    assert big.content == BIG
    assert missing.status_code == 404
    assert missing.json() == {"title": "Not found"}


async def test_distinct_queries_leave_nothing_behind_per_query(server: str) -> None:
    # The request line was once cached per target, and a target holds the caller's query:
    # every new search grew the gateway's memory for good.
    transport = LeanReadTransport()
    async with httpx.AsyncClient(
        base_url=server, transport=transport, auth=InternalAuth(SECRET), timeout=WAIT
    ) as client:
        for number in range(50):
            answer = await client.get("/echo", params={"q": f"search {number}"})
            assert answer.json()["query"] == f"q=search+{number}"
    assert len(vars(transport)["_host_lines"]) == 1
    kept = [value for value in vars(transport).values() if isinstance(value, dict)]
    assert all(len(value) <= 1 for value in kept)


async def test_other_methods_go_through_httpx_own_transport(server: str) -> None:
    async with _client(server) as client:
        answer = await client.post("/posted", content=b"a body")
    assert answer.status_code == 200
    assert answer.content == b"a body"


class _Misbehaving(asyncio.Protocol):
    """Answers each request, then does what `mode` says: keep the connection, close it after
    answering, or (mode "silent") never answer."""

    mode = "keep"
    connections = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        type(self).connections += 1

    def data_received(self, data: bytes) -> None:
        if type(self).mode == "silent":
            return
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        if type(self).mode == "close-after":
            self.transport.close()


@pytest.fixture
async def misbehaving() -> AsyncIterator[str]:
    _Misbehaving.mode, _Misbehaving.connections = "keep", 0
    server = await asyncio.get_running_loop().create_server(_Misbehaving, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def test_a_connection_the_peer_closed_while_idle_is_replaced_and_the_get_resent(
    misbehaving: str,
) -> None:
    base = misbehaving
    async with _client(base) as client:
        assert (await client.get("/a")).text == "ok"
        _Misbehaving.mode = "close-after"
        assert (await client.get("/b")).text == "ok"  # answered, then the peer closes
        await asyncio.sleep(0.1)  # the close reaches us while the connection is idle
        _Misbehaving.mode = "keep"
        assert (await client.get("/c")).text == "ok"
    assert _Misbehaving.connections == 2


async def test_a_peer_that_does_not_answer_is_a_read_timeout(
    misbehaving: str,
) -> None:
    base = misbehaving
    _Misbehaving.mode = "silent"
    async with httpx.AsyncClient(
        base_url=base, transport=LeanReadTransport(), timeout=httpx.Timeout(0.3)
    ) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/never")


async def test_nobody_listening_is_a_connect_error() -> None:
    async with _client(f"http://127.0.0.1:{_free_port()}") as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/anything")
