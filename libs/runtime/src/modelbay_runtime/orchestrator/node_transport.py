"""A lean keep-alive HTTP/1.1 transport for node calls (an `httpx.AsyncBaseTransport`).

Why not `httpx.AsyncHTTPTransport`: measured on these machines, its httpcore/anyio/h11 layers
cost ~0.5 ms of CPU per node call (request and response state machines, anyio stream
wrappers, sniffio lookups, per-call socket `extra_attributes`), against ~0.03 ms for writing
one request and parsing the answer with `httptools` (the C parser uvicorn already uses) on an
asyncio protocol. A fan-out of three node calls spent most of its overhead there
(docs/benchmarks.md, "Solutions"). Node calls are the simplest HTTP there is: POST with a
small body to a plain-HTTP peer on the cluster network, the answer read whole.

What it does: one pool of idle connections per (host, port), at most `max_keepalive` kept in
total; a request takes an idle connection or opens one (at most `max_connections` open per
peer; more callers wait for one), writes the request, and waits for the parsed answer within the
request's timeouts (`extensions["timeout"]`, as httpx sets them). An answer the peer marks
`Connection: close`, or any error, closes the connection. A reused connection that the peer
closed while idle fails before any byte of the answer: that one request is sent again once on
a fresh connection (what browsers do; a node call is a prediction, safe to repeat). Errors are
httpx's (`ConnectError`, `ReadError`, `ConnectTimeout`, `ReadTimeout`, `RemoteProtocolError`),
so `calls.NodeCaller` treats them exactly as before. Only `http://` URLs: anything else is
handed to a regular `httpx.AsyncHTTPTransport`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, cast

import httptools
import httpx

_DEFAULT_TIMEOUT = 10.0


class _Answer(Exception):
    """Not an error: how the protocol hands a complete answer to the waiting request."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes]] | None = None
        self.closed = False
        self.received_any = False
        self.keep_alive = True
        self._parser = httptools.HttpResponseParser(self)
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    # -- asyncio.Protocol --------------------------------------------------------------------

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
        self._fail(httpx.ReadError(str(exc) if exc else "the node closed the connection"))

    # -- httptools callbacks -----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = bool(self._parser.should_keep_alive())
        answer = (int(self._parser.get_status_code()), self._headers, b"".join(self._body))
        self._headers, self._body = [], []
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    # -- use ---------------------------------------------------------------------------------

    def send(
        self, head: bytes, body: bytes
    ) -> asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes]]:
        assert self.transport is not None
        assert self.waiter is None
        self.received_any = False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(head + body)
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
    """The connections to one (host, port)."""

    def __init__(self, max_connections: int) -> None:
        self.idle: deque[_Connection] = deque()
        self.slots = asyncio.Semaphore(max_connections)


class LeanNodeTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, *, max_connections: int = 256, max_keepalive: int = 64, fallback: Any = None
    ) -> None:
        self._max_connections = max_connections
        self._max_keepalive = max_keepalive
        self._peers: dict[tuple[str, int], _Peer] = {}
        self._idle_total = 0
        self._heads: dict[tuple[bytes, bytes, int], bytes] = {}
        self._fallback: httpx.AsyncBaseTransport = fallback or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http" or request.method != "POST":
            return await self._fallback.handle_async_request(request)
        host, port = url.host, url.port or 80
        timeouts = request.extensions.get("timeout") or {}
        body = request.content
        head = self._head(request, host, port, len(body))
        peer = self._peers.get((host, port))
        if peer is None:
            peer = self._peers[(host, port)] = _Peer(self._max_connections)
        pool_timeout = timeouts.get("pool") or _DEFAULT_TIMEOUT
        try:
            await asyncio.wait_for(peer.slots.acquire(), pool_timeout)
        except asyncio.TimeoutError:  # TimeoutError only from Python 3.11 on
            raise httpx.PoolTimeout(f"no connection to {host}:{port} became free") from None
        try:
            status, headers, content = await self._exchange(peer, host, port, head, body, timeouts)
        finally:
            peer.slots.release()
        return httpx.Response(status, headers=headers, content=content, request=request)

    def _head(self, request: httpx.Request, host: str, port: int, length: int) -> bytes:
        """The request line and headers; the fixed part is built once per target."""
        target = request.url.raw_path
        key = (host.encode(), target, port)
        fixed = self._heads.get(key)
        if fixed is None:
            fixed = b"POST " + target + b" HTTP/1.1\r\nhost: " + f"{host}:{port}".encode()
            self._heads[key] = fixed
        lines = [fixed]
        for name, value in request.headers.raw:
            lowered = name.lower()
            if lowered not in (b"host", b"content-length", b"transfer-encoding", b"connection"):
                lines.append(name + b": " + value)
        lines.append(b"content-length: " + str(length).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def _exchange(
        self,
        peer: _Peer,
        host: str,
        port: int,
        head: bytes,
        body: bytes,
        timeouts: dict[str, float | None],
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        read_timeout = timeouts.get("read") or _DEFAULT_TIMEOUT
        for attempt in (1, 2):
            connection, reused = await self._connection(peer, host, port, timeouts)
            try:
                answer = await asyncio.wait_for(connection.send(head, body), read_timeout)
            except asyncio.TimeoutError:  # TimeoutError only from Python 3.11 on
                connection.close()
                raise httpx.ReadTimeout(f"{host}:{port} did not answer in time") from None
            except httpx.TransportError:
                connection.close()
                # A keep-alive connection the node closed while idle: send once more, fresh.
                if reused and attempt == 1 and not connection.received_any:
                    continue
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
        except asyncio.TimeoutError:  # TimeoutError only from Python 3.11 on
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
