"""The orchestrator's lean node transport (modelbay_runtime.orchestrator.node_transport) against
real sockets on loopback: small asyncio HTTP/1.1 servers that answer as a node would, or close,
stall, chunk, or refuse. Errors must be httpx's, so `NodeCaller` maps them as it always did."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from modelbay_runtime.orchestrator.node_transport import LeanNodeTransport
from modelbay_runtime.orchestrator.settings import ClientLimits

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 3\r\n\r\nabc"


@contextlib.asynccontextmanager
async def node(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/model/methods/step"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


def post(url: str, body: bytes = b"\x08\x01", timeout: float = 5.0) -> httpx.Request:
    return httpx.Request(
        "POST",
        url,
        headers={"content-type": "application/x-protobuf", "traceparent": "00-ab-cd-01"},
        content=body,
        extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout)},
    )


async def test_keep_alive_answers_headers_and_one_connection() -> None:
    connections = 0
    seen: list[tuple[bytes, bytes]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError):
            while True:
                seen.append(await read_request(reader))
                writer.write(OK)
                await writer.drain()

    transport = LeanNodeTransport()
    async with node(answer) as url:
        for _ in range(5):
            response = await transport.handle_async_request(post(url))
            assert response.status_code == 200
            assert response.content == b"abc"
            assert response.headers["content-type"] == "application/x-protobuf"
    await transport.aclose()
    assert connections == 1
    head, body = seen[0]
    assert head.startswith(b"POST /model/methods/step HTTP/1.1\r\nhost: 127.0.0.1:")
    assert b"traceparent: 00-ab-cd-01" in head
    assert b"content-length: 2" in head
    assert body == b"\x08\x01"


async def test_chunked_answers_and_connection_close_are_honoured() -> None:
    connections = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n"
            b"content-type: application/problem+json\r\ntransfer-encoding: chunked\r\n\r\n"
            b'5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
        )
        await writer.drain()
        writer.close()

    transport = LeanNodeTransport()
    async with node(answer) as url:
        for _ in range(2):
            response = await transport.handle_async_request(post(url))
            assert response.status_code == 503
            assert response.json() == {"a": 1}
    await transport.aclose()
    assert connections == 2  # `connection: close`: never reused


async def test_an_idle_connection_the_node_closed_is_replaced_transparently() -> None:
    connections = 0

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(OK)  # keep-alive promised, then closed: as an idle timeout would
        await writer.drain()
        writer.close()

    transport = LeanNodeTransport()
    async with node(answer_once) as url:
        assert (await transport.handle_async_request(post(url))).status_code == 200
        await asyncio.sleep(0.2)  # the close reaches the client while the connection is idle
        assert (await transport.handle_async_request(post(url))).status_code == 200
    await transport.aclose()
    assert connections == 2


async def test_refused_stalled_and_garbled_nodes_raise_httpx_errors() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    transport = LeanNodeTransport()
    with pytest.raises(httpx.ConnectError):
        await transport.handle_async_request(post(f"http://127.0.0.1:{closed_port}/m"))

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with node(stall) as url:
        with pytest.raises(httpx.ReadTimeout):
            await transport.handle_async_request(post(url, timeout=0.3))

    async def garble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"this is not HTTP\r\n\r\n")
        await writer.drain()

    async with node(garble) as url:
        with pytest.raises(httpx.RemoteProtocolError):
            await transport.handle_async_request(post(url))
    await transport.aclose()


async def test_other_schemes_go_to_the_fallback_transport() -> None:
    asked: list[str] = []

    def fallback(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, content=b"x")

    transport = LeanNodeTransport(fallback=httpx.MockTransport(fallback))
    response = await transport.handle_async_request(post("https://node.example/m"))
    assert response.content == b"x"
    assert asked == ["https://node.example/m"]
    await transport.aclose()


def test_the_httpx_transport_can_be_chosen_back() -> None:
    assert ClientLimits.from_env({}).http == "lean"
    assert ClientLimits.from_env({"MODELBAY_ORCHESTRATOR_HTTP": "httpx"}).http == "httpx"
    assert ClientLimits.from_env({"MODELBAY_ORCHESTRATOR_HTTP": "h2"}).http == "lean"
