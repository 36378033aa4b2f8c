"""The hot path: `POST /model/methods/{m}` answered straight from uvicorn's HTTP parser.

Issue 14's ceiling measurement (docs/benchmarks.md, "the ceiling on this machine") put the
runtime's serving process at ~75 µs of CPU per 1-row request with a free model, against ~31 µs
for uvicorn with a bare ASGI app and ~5 µs for a raw httptools protocol: most of a request's
cost was per-request objects (the ASGI scope and messages, a task, `Request`, the router's
regexes, awaits through the batcher), not work. This protocol keeps everything uvicorn's
`HttpToolsProtocol` does per *connection* (keep-alive and its timeout, pipelining order, flow
control, graceful shutdown, 400 on unparseable input, the default `date`/`server` headers) and
replaces the per-request ASGI round trip for predictions only: when the request's headers are
complete it is checked, its body decoded and handed to the batcher synchronously, and the
answer is written from the batcher's future's callback — no task, no ASGI messages.

Everything else falls through to the ASGI app unchanged (`/metrics`, `/v2/...`, `HEAD`,
`Expect: 100-continue`, chunked or oversized bodies, escaped paths, `--limit-concurrency`), and
the hot path gives the same answers as the ASGI path: same status, body, media type and headers,
same problem+json errors, same metrics (tests/unit/runtime/test_runtime_hot_path.py compares
the two request by request).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from modelbay_runtime.server.metrics import UNKNOWN_METHOD
from modelbay_runtime.server.negotiation import Encoding, request_encoding, response_encoding
from modelbay_runtime.server.problem import PROBLEM_MEDIA_TYPE, ProblemError, internal_error
from modelbay_runtime.server.routes_model import (
    check_payload,
    decode_payload,
    encode_result,
    resolve_method,
)

if TYPE_CHECKING:
    from modelbay_runtime.server.app import ModelServer
    from modelbay_runtime.server.state import MethodRuntime

log = logging.getLogger("modelbay_runtime.server")
PREFIX = b"/model/methods/"
_JSON_MEDIA = b"application/json"
Respond = Callable[[int, bytes, bytes, dict[str, str]], None]


class _Signal:
    """What uvicorn's protocol calls on a cycle's `message_event` (`set`), without an
    asyncio.Event per request; awaited only by a pipelined request (`wait`)."""

    __slots__ = ("_flag", "_waiter")

    def __init__(self) -> None:
        self._flag = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._flag = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self) -> None:
        while not self._flag:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        self._flag = False


class HotCycle:
    """One hot request on a connection: the attributes uvicorn's protocol reads on its `cycle`
    (`response_complete`, `disconnected`, `keep_alive`, `message_event`, `run_asgi`)."""

    __slots__ = (
        "accept",
        "body",
        "content_type",
        "disconnected",
        "keep_alive",
        "message_event",
        "method_name",
        "more_body",
        "path",
        "protocol",
        "response_complete",
        "runtime",
        "started",
    )

    def __init__(
        self,
        protocol: HotPathProtocol,
        method_name: str,
        path: str,
        content_type: bytes | None,
        accept: bytes | None,
        keep_alive: bool,
    ) -> None:
        self.protocol = protocol
        self.method_name = method_name
        self.path = path
        self.content_type = content_type
        self.accept = accept
        self.keep_alive = keep_alive
        self.body = bytearray()
        self.more_body = True
        self.started = False  # False while queued behind a pipelined request
        self.response_complete = False
        self.disconnected = False
        self.message_event = _Signal()
        self.runtime: MethodRuntime | None = None

    async def run_asgi(self, app: object) -> None:
        """Called by uvicorn (as a task) only for a request pipelined behind another one."""
        self.started = True
        while self.more_body and not self.disconnected:
            await self.message_event.wait()
        if not self.disconnected:
            self.dispatch()

    def dispatch(self) -> None:
        hot = self.protocol.hot
        assert hot is not None  # a HotCycle exists only when the protocol has a hot path
        hot.start(self, self.respond)

    def respond(self, status: int, body: bytes, media_type: bytes, headers: dict[str, str]) -> None:
        protocol = self.protocol
        if self.disconnected or self.response_complete or protocol.transport.is_closing():
            return  # the client went away while the model ran: nobody to answer
        content = [STATUS_LINE[status], _default_headers(protocol.server_state.default_headers)]
        content += (b"content-type: ", media_type, b"\r\ncontent-length: ")
        content += (str(len(body)).encode(), b"\r\n")
        for key, text in headers.items():
            content += (key.lower().encode("latin-1"), b": ", text.encode("latin-1"), b"\r\n")
        if not self.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", body)
        transport = protocol.transport
        transport.write(b"".join(content))
        self.response_complete = True
        if not self.keep_alive:
            transport.close()
        protocol.on_response_complete()


_joined_headers: tuple[object, bytes] = (None, b"")


def _default_headers(headers: list[tuple[bytes, bytes]]) -> bytes:
    """uvicorn's default headers (`date`, `server`) as bytes, joined once per list: uvicorn
    replaces the list when the date changes (once a second), so its identity is the key."""
    global _joined_headers
    if _joined_headers[0] is not headers:
        joined = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        _joined_headers = (headers, joined)
    return _joined_headers[1]


class HotPathProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with predictions taken off the ASGI path (module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from modelbay_runtime.server.app import ModelServer

        # The hot path calls the server directly, so only when nothing wraps it (uvicorn adds
        # middleware for --proxy-headers, trace logging or ASGI2 apps: then ASGI all the way).
        app = self.app
        self.hot: HotPredict | None = HotPredict(app) if isinstance(app, ModelServer) else None

    def on_headers_complete(self) -> None:
        cycle = self._hot_cycle()
        if cycle is None:
            super().on_headers_complete()
            return
        existing = self.cycle
        self.cycle = cycle  # type: ignore[assignment]
        if existing is None or existing.response_complete:
            cycle.started = True
        else:
            # Pipelined behind a request still being answered: uvicorn starts it (run_asgi)
            # when that one's response is complete, as it does its own cycles.
            self.flow.pause_reading()
            self.pipeline.appendleft((cycle, self.app))  # type: ignore[arg-type]

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if isinstance(cycle, HotCycle):
            # Bounded: a hot request declared a Content-Length within the body limit.
            cycle.body += body
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        cycle = self.cycle
        if isinstance(cycle, HotCycle):
            cycle.more_body = False
            if cycle.started:
                cycle.dispatch()
            else:
                cycle.message_event.set()
            return
        super().on_message_complete()

    def _hot_cycle(self) -> HotCycle | None:
        """A HotCycle when this request may take the hot path, else None (ASGI)."""
        hot, url = self.hot, self.url
        if hot is None or not url.startswith(PREFIX) or self.expect_100_continue:
            return None
        parser = self.parser
        if parser.get_method() != b"POST" or parser.should_upgrade():
            return None
        if self.limit_concurrency is not None or self.root_path:
            return None
        path = httptools.parse_url(url).path
        name = path[len(PREFIX) :]
        if not name or b"/" in name or b"%" in path:
            return None
        content_type = accept = length = None
        for key, value in self.headers:
            if key == b"content-type":
                content_type = value
            elif key == b"accept":
                accept = value
            elif key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                return None
        if length is None or not length.isdigit() or int(length) > hot.max_body_bytes:
            return None  # the ASGI path answers 411-less bodies and 413 with its own rules
        http_version = parser.get_http_version()
        keep_alive = http_version != "1.0" and parser.should_keep_alive()
        try:
            method_name, path_text = name.decode("ascii"), path.decode("ascii")
        except UnicodeDecodeError:
            return None
        return HotCycle(self, method_name, path_text, content_type, accept, keep_alive)


class HotPredict:
    """`ModelRoutes.predict` without ASGI: the same steps, synchronous up to the model call."""

    def __init__(self, server: ModelServer) -> None:
        self.server = server
        self.max_body_bytes = server.settings.max_body_bytes

    def start(self, cycle: HotCycle, respond: Respond) -> None:
        started = time.perf_counter()
        label, encoding = UNKNOWN_METHOD, "json"
        try:
            state = self.server.ready_state()
            runtime = resolve_method(state, cycle.method_name)
            label = runtime.method.name
            incoming = _request_encoding(cycle.content_type)
            encoding = incoming[0].value
            outgoing = _response_encoding(cycle.accept, incoming)
            method = runtime.method
            payload = decode_payload(state, runtime, incoming[0], bytes(cycle.body))
            batcher = runtime.batcher
            rows = batcher.accepts(payload) if batcher is not None else None
            if rows is None:
                # Not batchable as it is: the ASGI path's checks, for its exact 422s. A request
                # the batcher accepts has every column, all of one length > 0 and of the right
                # kinds, so these checks could not fail for it and are skipped.
                check_payload(runtime, payload, incoming[0])
            future: asyncio.Future[dict[str, Any]]
            if batcher is not None and rows is not None:
                future = batcher.enqueue(payload, rows)
            else:
                future = asyncio.ensure_future(self.server.runner.call(method, payload))
        except Exception as exc:  # ProblemError or a bug: answered as the ASGI path would
            self._fail(cycle, respond, exc, label, encoding, started)
            return

        def finish(done: asyncio.Future[dict[str, Any]]) -> None:
            try:
                body, media_type = encode_result(state, method, outgoing, done.result())
            except BaseException as exc:
                self._fail(cycle, respond, exc, label, encoding, started)
                return
            self.server.metrics.request_done(label, 200, encoding, time.perf_counter() - started)
            respond(200, body, media_type.encode("latin-1"), {})

        future.add_done_callback(finish)

    def _fail(
        self,
        cycle: HotCycle,
        respond: Respond,
        exc: BaseException,
        label: str,
        encoding: str,
        started: float,
    ) -> None:
        metrics = self.server.metrics
        if isinstance(exc, ProblemError):
            problem = exc
            metrics.request_done(label, problem.status, encoding, time.perf_counter() - started)
        else:
            if isinstance(exc, asyncio.CancelledError):
                log.error("a prediction on %s was cancelled (server shutting down)", cycle.path)
            else:
                log.error("unhandled error on POST %s", cycle.path, exc_info=exc)
            problem = internal_error()
            metrics.request_done(label, 500, encoding, time.perf_counter() - started)
        metrics.error(problem.kind)
        body = problem.render(cycle.path)
        respond(problem.status, body, PROBLEM_MEDIA_TYPE.encode(), problem.headers)


def _request_encoding(content_type: bytes | None) -> tuple[Encoding, str]:
    if content_type == _JSON_MEDIA:  # the common case, without decoding or splitting
        return Encoding.JSON, "application/json"
    return request_encoding(None if content_type is None else content_type.decode("latin-1"))


def _response_encoding(
    accept: bytes | None, incoming: tuple[Encoding, str]
) -> tuple[Encoding, str]:
    if accept is None:
        return incoming
    return response_encoding(accept.decode("latin-1"), incoming)


HOT_PATH_ENV = "MODELBAY_RUNTIME_HOT_PATH"


def uvicorn_http_protocol() -> type[HttpToolsProtocol] | str:
    """What `serve` passes to uvicorn as `http`: the hot path, unless the environment turns it
    off (`MODELBAY_RUNTIME_HOT_PATH=off`, for A/B measurements or if it ever misbehaves)."""
    import os

    if os.environ.get(HOT_PATH_ENV, "on").strip().lower() in ("off", "0", "false", "no"):
        return "auto"
    if not uvicorn_is_tested(_installed_uvicorn()):
        log.info(
            "uvicorn %s is newer than the hot path was tested with (%d.%d at most): "
            "predictions take the ASGI path",
            _installed_uvicorn(),
            *NEWEST_TESTED_UVICORN,
        )
        return "auto"
    return HotPathProtocol


# The protocol subclasses uvicorn's HttpToolsProtocol and sets the attributes its `cycle`
# reads, which are not a public API: the hot path's tests pass with uvicorn 0.30.6, 0.40,
# 0.47, 0.54 and 0.55 (the newest, 2026-12-07). A model image resolves uvicorn afresh, so a
# later release falls back to the plain ASGI path (slower, never wrong) until it is tested and
# this bound moves.
NEWEST_TESTED_UVICORN = (0, 55)


def _installed_uvicorn() -> str:
    import uvicorn

    return str(uvicorn.__version__)


def uvicorn_is_tested(version: str) -> bool:
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) <= NEWEST_TESTED_UVICORN
