"""A lean keep-alive HTTP/1.1 client transport (an `httpx.AsyncBaseTransport`), shared by the
solution orchestrator's node calls (`orchestrator/node_transport.py`, POST) and the gateway's
internal reads (`modelbay_gateway.read_transport`, GET). Needs the runtime's `server` extra
(httpx, httptools); nothing in the runtime's core imports it.

Why not `httpx.AsyncHTTPTransport`: measured on these machines, its httpcore/anyio/h11 layers
cost ~0.4–0.5 ms of CPU per call (request and response state machines, anyio stream wrappers,
sniffio lookups, per-call socket `extra_attributes`), against ~0.03–0.05 ms for writing one
request and parsing the answer with `httptools` (the C parser uvicorn already uses) on an
asyncio protocol (docs/benchmarks.md, "Solutions" and "Gateway CPU per request"). Both callers
make the simplest HTTP there is: a small request to a plain-HTTP peer, the answer read whole.

What it does: for the methods it was made for (`methods`), over `http://`, with a body that is
not streamed: one pool of idle connections per (host, port), at most `max_keepalive` kept in
total; a request takes an idle connection or opens one (at most `max_connections` open per
peer; more callers wait within the pool timeout), writes the request and waits for the parsed
answer within the request's timeouts (`extensions["timeout"]`, as httpx sets them). An answer
marked `Connection: close`, or any error, closes the connection; so does a caller cancelled
mid-answer (the connection's state is unknown then). A reused connection the peer closed while
idle fails before any byte of the answer: that request is sent once more on a fresh connection
(what browsers do; both callers' requests are safe to repeat: GETs, and predictions). Errors
are httpx's (`ConnectError`, `ReadError`, `ConnectTimeout`, `ReadTimeout`, `PoolTimeout`,
`RemoteProtocolError`), so callers treat them as they treat httpx's own. Anything else goes to
`fallback` (a regular `httpx.AsyncHTTPTransport` by default). An answer must say where it ends
(`Content-Length` or chunked, as uvicorn's always do); one ended only by closing the connection
is a `ReadError`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Mapping
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
        why = str(exc) if exc else "the connection closed before the answer was complete"
        self._fail(httpx.ReadError(why))

    # httptools callbacks
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

    def send(self, data: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        assert self.waiter is None  # one request in flight per connection
        self.received_any = False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
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


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        methods: Iterable[str],
        max_connections: int,
        max_keepalive: int,
        fallback: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._methods = frozenset(methods)
        self._max_connections = max_connections
        self._max_keepalive = max_keepalive
        self._peers: dict[tuple[str, int], _Peer] = {}
        self._idle_total = 0
        # The `host` header line per peer. Not the whole request line per target: the gateway's
        # targets carry the caller's query, so a cache keyed by them grew with every new search.
        self._host_lines: dict[tuple[str, int], bytes] = {}
        self._fallback = fallback or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if (
            url.scheme != "http"
            or request.method not in self._methods
            or "transfer-encoding" in request.headers  # a streamed body
        ):
            return await self._fallback.handle_async_request(request)
        host, port = url.host, url.port or 80
        timeouts = request.extensions.get("timeout") or {}
        body = request.content
        data = self._head(request, host, port, body) + body
        status, headers, content = await self.send_raw(host, port, data, timeouts)
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def send_raw(
        self, host: str, port: int, data: bytes, timeouts: Mapping[str, float | None]
    ) -> Answer:
        """Send a whole request as built (`request_head` + body) and return the answer whole:
        the pool, the retry of a stale connection and the errors of `handle_async_request`,
        without httpx's request and response objects (for a caller on a hot path that builds
        its own head: the gateway's forwarded reads, modelbay_gateway.upstream)."""
        peer = self._peers.get((host, port))
        if peer is None:
            peer = self._peers[(host, port)] = _Peer(self._max_connections)
        pool_timeout = timeouts.get("pool") or _DEFAULT_TIMEOUT
        try:
            await asyncio.wait_for(peer.slots.acquire(), pool_timeout)
        except asyncio.TimeoutError:  # TimeoutError only from Python 3.11 on
            raise httpx.PoolTimeout(f"no connection to {host}:{port} became free") from None
        try:
            return await self._exchange(peer, host, port, data, timeouts)
        finally:
            peer.slots.release()

    def request_head(
        self, method: str, target: bytes, host: str, port: int, headers: Iterable[tuple[str, str]]
    ) -> bytes:
        """The head of a request without a body, as `handle_async_request` writes one."""
        lines = [method.encode() + b" " + target + b" HTTP/1.1", self._host_line(host, port)]
        lines.extend(f"{name}: {value}".encode("latin-1") for name, value in headers)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def _host_line(self, host: str, port: int) -> bytes:
        host_line = self._host_lines.get((host, port))
        if host_line is None:
            host_line = self._host_lines[(host, port)] = f"host: {host}:{port}".encode()
        return host_line

    def _head(self, request: httpx.Request, host: str, port: int, body: bytes) -> bytes:
        """The request line and headers; the `host` line is built once per peer."""
        request_line = request.method.encode() + b" " + request.url.raw_path + b" HTTP/1.1"
        lines = [request_line, self._host_line(host, port)]
        for name, value in request.headers.raw:
            if name.lower() not in _NOT_FORWARDED:
                lines.append(name + b": " + value)
        if body or request.method not in ("GET", "HEAD"):
            lines.append(b"content-length: " + str(len(body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def _exchange(
        self, peer: _Peer, host: str, port: int, data: bytes, timeouts: Mapping[str, float | None]
    ) -> Answer:
        read_timeout = timeouts.get("read") or _DEFAULT_TIMEOUT
        for attempt in (1, 2):
            connection, reused = await self._connection(peer, host, port, timeouts)
            try:
                answer = await asyncio.wait_for(connection.send(data), read_timeout)
            except asyncio.TimeoutError:  # TimeoutError only from Python 3.11 on
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
        self, peer: _Peer, host: str, port: int, timeouts: Mapping[str, float | None]
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
