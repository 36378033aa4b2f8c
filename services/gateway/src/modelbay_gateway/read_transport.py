"""A lean keep-alive HTTP/1.1 transport for the gateway's internal GETs (an httpx transport).

Why: the default `httpx.AsyncHTTPTransport` (httpcore, anyio, h11) costs about 0.4 ms of the
gateway's CPU per internal call on this machine, against about 0.05 ms for writing the request
and parsing the answer with `httptools` (the C parser uvicorn already brings) on an asyncio
protocol (docs/benchmarks.md, "Gateway CPU per request"). Every search and model page is one
such call. The idea is the runtime orchestrator's node transport
(`modelbay_runtime.orchestrator.node_transport`), redone for what the gateway needs instead of
imported, so the gateway does not depend on the model server's package: GETs to a plain-HTTP
internal service whose answer is read whole.

What it does: one pool of idle connections per (host, port), at most `max_keepalive` kept in
total; a request takes an idle connection or opens one (at most `max_connections` open per peer;
more callers wait within the pool timeout), writes the request and waits for the parsed answer
within the read timeout. An answer marked `Connection: close`, or any error, closes the
connection. A reused connection the peer closed while idle fails before any byte of the answer:
that GET is sent once more on a fresh connection (GETs are safe to repeat). Errors are httpx's
(`ConnectError`, `ReadError`, `ConnectTimeout`, `ReadTimeout`, `PoolTimeout`,
`RemoteProtocolError`), so `upstream.Upstreams` treats them as before. Anything that is not a
GET over `http://` goes to a regular `httpx.AsyncHTTPTransport`. Streamed answers (downloads)
never come here: `Upstreams.stream` uses the regular client. An answer must say where it ends
(`Content-Length` or chunked, as uvicorn's always do); one ended only by closing the connection
is a `ReadError`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

import httptools
import httpx

_DEFAULT_TIMEOUT = 10.0
_NOT_FORWARDED = (b"host", b"content-length", b"transfer-encoding", b"connection")

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False
        self.received_any = False
        self.keep_alive = True
        self._parser = httptools.HttpResponseParser(self)
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport: no isinstance check.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(httpx.ReadError("the connection closed before the answer was complete"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self._parser.should_keep_alive()
        answer = (self._parser.get_status_code(), self._headers, b"".join(self._body))
        self._headers, self._body = [], []
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def send(self, head: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        assert self.waiter is None  # one request in flight per connection
        self.received_any = False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(head)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, error: Exception) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if self.transport is not None:
            self.transport.close()


class _Peer:
    """The connections to one (host, port): idle ones, and a bound on how many are open."""

    def __init__(self, max_connections: int) -> None:
        self.idle: deque[_Connection] = deque()
        self.slots = asyncio.Semaphore(max_connections)


class LeanReadTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_connections: int = 100, max_keepalive: int = 32) -> None:
        self._max_connections = max_connections
        self._max_keepalive = max_keepalive
        self._peers: dict[tuple[str, int], _Peer] = {}
        self._idle_total = 0
        self._fallback = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=max_connections)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http" or request.method != "GET" or _has_body(request):
            return await self._fallback.handle_async_request(request)
        host, port = url.host, url.port or 80
        timeouts = request.extensions.get("timeout") or {}
        head = _head(request, host, port)
        peer = self._peers.get((host, port))
        if peer is None:
            peer = self._peers[(host, port)] = _Peer(self._max_connections)
        try:
            await asyncio.wait_for(peer.slots.acquire(), timeouts.get("pool") or _DEFAULT_TIMEOUT)
        except TimeoutError:
            raise httpx.PoolTimeout(f"no connection to {host}:{port} became free") from None
        try:
            status, headers, content = await self._exchange(peer, host, port, head, timeouts)
        finally:
            peer.slots.release()
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _exchange(
        self, peer: _Peer, host: str, port: int, head: bytes, timeouts: dict[str, float | None]
    ) -> Answer:
        read_timeout = timeouts.get("read") or _DEFAULT_TIMEOUT
        for attempt in (1, 2):
            connection, reused = await self._connection(peer, host, port, timeouts)
            try:
                answer = await asyncio.wait_for(connection.send(head), read_timeout)
            except TimeoutError:
                connection.close()
                raise httpx.ReadTimeout(f"{host}:{port} did not answer in time") from None
            except httpx.TransportError:
                connection.close()
                # A keep-alive connection the peer closed while idle: send once more, fresh.
                if reused and attempt == 1 and not connection.received_any:
                    continue
                raise
            except BaseException:  # cancelled mid-answer: the connection's state is unknown
                connection.close()
                raise
            self._release(peer, connection)
            return answer
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _connection(
        self, peer: _Peer, host: str, port: int, timeouts: dict[str, float | None]
    ) -> tuple[_Connection, bool]:
        while peer.idle:
            connection = peer.idle.pop()
            self._idle_total -= 1
            if not connection.closed:
                return connection, True
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(_Connection, host, port),
                timeouts.get("connect") or _DEFAULT_TIMEOUT,
            )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpx.ConnectError(f"{exc.strerror or exc} ({host}:{port})") from None
        return connection, False

    def _release(self, peer: _Peer, connection: _Connection) -> None:
        if (
            connection.closed
            or not connection.keep_alive
            or self._idle_total >= self._max_keepalive
        ):
            connection.close()
            return
        peer.idle.append(connection)
        self._idle_total += 1

    async def aclose(self) -> None:
        for peer in self._peers.values():
            while peer.idle:
                peer.idle.pop().close()
        self._idle_total = 0
        await self._fallback.aclose()


def _has_body(request: httpx.Request) -> bool:
    headers = request.headers
    return "transfer-encoding" in headers or headers.get("content-length", "0") != "0"


def _head(request: httpx.Request, host: str, port: int) -> bytes:
    """The request line and headers of a GET (no body)."""
    lines = [b"GET " + request.url.raw_path + b" HTTP/1.1", b"host: " + f"{host}:{port}".encode()]
    for name, value in request.headers.raw:
        if name.lower() not in _NOT_FORWARDED:
            lines.append(name + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n"
