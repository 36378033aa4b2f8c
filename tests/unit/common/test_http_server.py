"""Every service's HTTP server closes connections whose request head does not arrive in time
(issue 11, defect 3): before, a client that opened a connection and sent its headers a byte now
and then (or nothing) held it for ever. Real sockets on loopback, uvicorn with the services'
configuration; the bounds below only stop a hung test."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI
from modelbay_common.http_server import server_config

HEADER_TIMEOUT = 0.5
BOUND = 30.0


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return app


@contextlib.asynccontextmanager
async def _server() -> AsyncIterator[tuple[str, int]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # connections wait in the backlog until the server accepts them
    config = server_config(
        _app(), host="127.0.0.1", port=0, header_timeout=HEADER_TIMEOUT, keep_alive=60
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield sock.getsockname()
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=BOUND)
        sock.close()


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True when the server closes the connection (EOF) within the bound."""
    try:
        while await asyncio.wait_for(reader.read(1024), timeout=BOUND):
            pass
    except TimeoutError:
        return False
    return True


async def test_a_connection_that_never_completes_its_request_head_is_closed() -> None:
    async with _server() as (host, port):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /ping HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        await writer.drain()
        assert await _closed_by_server(reader)
        writer.close()


async def test_a_connection_that_sends_nothing_is_closed() -> None:
    async with _server() as (host, port):
        reader, writer = await asyncio.open_connection(host, port)
        assert await _closed_by_server(reader)
        writer.close()


async def test_requests_on_time_are_served_and_a_slow_second_head_is_cut_off() -> None:
    async with _server() as (host, port):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), timeout=BOUND)
        assert status.startswith(b"HTTP/1.1 200")
        # Keep-alive is 60 s here, so only the head deadline can close what follows.
        writer.write(b"GET /ping HTTP/1.1\r\n")
        await writer.drain()
        assert await _closed_by_server(reader)
        writer.close()
