"""The orchestrator's ASGI application: a solution served exactly like a model.

`/model/methods/{method}` (JSON or protobuf, negotiated like the model server), `/model/proto`,
`/model/metadata`, `/openapi.json`, `/docs`, `/healthz`, `/readyz`, `/metrics`. One process
may serve several solutions: the first is also served at the root paths above, every one of them
at `/solutions/{name}/...` (`GET /solutions` lists them). Each server owns its solutions and its
pooled HTTP client; nothing lives in module globals.

Readiness means "the solutions are loaded", not "every node answers": nodes are separate
deployments with their own probes, and an orchestrator that went unready whenever one node
restarts would take the whole solution out of a load balancer for no gain. A node that cannot be
reached answers its own problem (502 naming it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from modelbay_runtime.orchestrator.boundary import answer_json, node_problem, request_message
from modelbay_runtime.orchestrator.calls import NodeCaller, NodeFailure
from modelbay_runtime.orchestrator.node_transport import LeanNodeTransport
from modelbay_runtime.orchestrator.openapi import solution_openapi
from modelbay_runtime.orchestrator.runner import CompiledSolution, describe
from modelbay_runtime.orchestrator.settings import ClientLimits
from modelbay_runtime.orchestrator.tracing import TraceContext
from modelbay_runtime.server.asgi import Receive, Request, Response, Router, Scope, Send
from modelbay_runtime.server.metrics import UNKNOWN_METHOD, ServerMetrics
from modelbay_runtime.server.negotiation import Encoding, request_encoding, response_encoding
from modelbay_runtime.server.openapi import SWAGGER_UI_HTML
from modelbay_runtime.server.problem import PROBLEM_MEDIA_TYPE, ProblemError, internal_error

log = logging.getLogger("modelbay_runtime.orchestrator")
SolutionsLoader = Callable[[], Sequence[CompiledSolution]]
MAX_BODY_BYTES = 10 * 1024 * 1024


class OrchestratorServer:
    def __init__(
        self,
        load_solutions: SolutionsLoader,
        *,
        limits: ClientLimits | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        """`transport` replaces the pooled network transport (tests call in-process servers)."""
        self._load_solutions = load_solutions
        self._limits = limits or ClientLimits()
        self._transport = transport
        self.max_body_bytes = max_body_bytes
        self.metrics = ServerMetrics()
        self._solutions: dict[str, CompiledSolution] = {}
        self._primary: CompiledSolution | None = None
        self._failure: str | None = None
        self._pool: httpx.AsyncBaseTransport | None = None
        self._caller: NodeCaller | None = None
        self.router = self._routes()

    # -- lifecycle -------------------------------------------------------------------------

    async def startup(self) -> None:
        limits = httpx.Limits(
            max_connections=self._limits.max_connections,
            max_keepalive_connections=self._limits.max_keepalive_connections,
            keepalive_expiry=self._limits.keepalive_expiry_seconds,
        )
        # Node calls go through the lean HTTP/1.1 transport (node_transport.py: ~0.5 ms of CPU
        # less per call than httpx's own); other schemes fall back to httpx's.
        # `MODELBAY_ORCHESTRATOR_HTTP=httpx` keeps httpx's transport for every call: the
        # benchmark's before/after on one machine, and an operator's way back.
        fallback = httpx.AsyncHTTPTransport(limits=limits)
        self._pool = self._transport or (
            fallback
            if self._limits.http == "httpx"
            else LeanNodeTransport(
                max_connections=self._limits.max_connections,
                max_keepalive=self._limits.max_keepalive_connections,
                fallback=fallback,
            )
        )
        self._caller = NodeCaller(self._pool)
        try:
            solutions = await asyncio.to_thread(self._load_solutions)
        except Exception as exc:
            self._failure = f"{type(exc).__name__}: {exc}"
            log.exception("the solution could not be loaded")
            return
        if not solutions:
            self._failure = "no solution to serve"
            return
        self._solutions = {solution.name: solution for solution in solutions}
        self._primary = solutions[0]
        for solution in solutions:
            log.info("solution %s ready: nodes %s", solution.name, solution.urls)

    async def shutdown(self) -> None:
        if self._pool is not None and self._transport is None:
            await self._pool.aclose()  # an injected transport is its owner's to close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.startup()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.shutdown()
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        try:
            handler, params = self.router.resolve(scope["method"], path)
            response = await handler(Request(scope, receive, params))
        except ProblemError as problem:
            self.metrics.error(problem.kind)
            response = Response(
                problem.status, problem.render(path), PROBLEM_MEDIA_TYPE, problem.headers
            )
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], path)
            failure = internal_error()
            response = Response(failure.status, failure.render(path), PROBLEM_MEDIA_TYPE)
        if scope["method"] == "HEAD":
            response.body = b""
        await response.send(send)

    # -- solutions -------------------------------------------------------------------------

    def _solution(self, request: Request) -> CompiledSolution:
        if self._failure is not None:
            raise ProblemError(
                503, "solution-failed", "Solution failed to load", "See the server log."
            )
        name = request.path_params.get("solution")
        if name is None:
            if self._primary is None:
                raise ProblemError(
                    503, "solution-loading", "Solution is loading", headers={"retry-after": "1"}
                )
            return self._primary
        solution = self._solutions.get(name)
        if solution is None:
            raise ProblemError(
                404,
                "unknown-solution",
                "Unknown solution",
                f"This orchestrator serves {sorted(self._solutions)}, not {name!r}.",
            )
        return solution

    async def predict(self, request: Request) -> Response:
        started, label, encoding, status = time.perf_counter(), UNKNOWN_METHOD, "json", 500
        try:
            solution = self._solution(request)
            method = request.path_params["method"]
            if method != solution.document.method:
                raise ProblemError(
                    404,
                    "unknown-method",
                    "Unknown method",
                    f"Solution {solution.name} has the method {solution.document.method!r}, "
                    f"not {method!r}.",
                )
            label = f"{solution.name}.{method}"
            incoming = request_encoding(request.headers.get("content-type"))
            encoding = incoming[0].value
            outgoing = response_encoding(request.headers.get("accept"), incoming)
            response = await self._predict(request, solution, incoming[0], outgoing)
            status = response.status
            return response
        except ProblemError as problem:
            status = problem.status
            raise
        finally:
            self.metrics.request_done(label, status, encoding, time.perf_counter() - started)

    async def _predict(
        self,
        request: Request,
        solution: CompiledSolution,
        incoming: Encoding,
        outgoing: tuple[Encoding, str],
    ) -> Response:
        body = await request.body(self.max_body_bytes)
        schema = solution.bundle.schemas[solution.document.method]["input"]
        message = request_message(
            solution.input_class,
            body,
            protobuf=incoming is Encoding.PROTOBUF,
            required=tuple(map(str, schema.get("required") or ())),
        )
        trace = TraceContext.from_headers(
            request.headers.get("traceparent"), request.headers.get("tracestate")
        )
        assert self._caller is not None  # set at start-up, before any request
        try:
            answer = await solution.run(message, self._caller, trace)
        except NodeFailure as failure:
            log.warning("solution %s: %s", solution.name, failure)
            raise node_problem(failure, solution.document) from None
        if outgoing[0] is Encoding.PROTOBUF:
            return Response(200, answer, outgoing[1])
        return Response(200, answer_json(solution.catalog, solution.output_class, answer))

    async def metadata(self, request: Request) -> Response:
        return Response(200, json.dumps(describe(self._solution(request))).encode())

    async def proto(self, request: Request) -> Response:
        text = self._solution(request).bundle.proto_text
        return Response(200, text.encode(), "text/plain; charset=utf-8")

    async def openapi(self, request: Request) -> Response:
        return Response(200, json.dumps(solution_openapi(self._solution(request))).encode())

    async def docs(self, request: Request) -> Response:
        title = self._solution(request).name.replace("<", "&lt;").replace(">", "&gt;")
        html = SWAGGER_UI_HTML.format(title=title)
        return Response(200, html.encode(), "text/html; charset=utf-8")

    async def list_solutions(self, request: Request) -> Response:
        body: dict[str, Any] = {
            "solutions": [
                {"name": s.name, "method": s.document.method, "path": f"/solutions/{s.name}"}
                for s in self._solutions.values()
            ]
        }
        return Response(200, json.dumps(body).encode())

    async def healthz(self, request: Request) -> Response:
        if self._failure is not None:
            raise ProblemError(
                503, "solution-failed", "Solution failed to load", "See the server log."
            )
        return Response(200, b'{"status":"alive"}')

    async def readyz(self, request: Request) -> Response:
        self._solution(request)
        return Response(200, b'{"status":"ready"}')

    async def prometheus(self, request: Request) -> Response:
        return Response(200, self.metrics.exposition(), self.metrics.content_type)

    def _routes(self) -> Router:
        router = Router()
        get, post = ("GET",), ("POST",)
        for prefix in ("", "/solutions/{solution}"):
            router.add(post, prefix + "/model/methods/{method}", self.predict)
            router.add(get, prefix + "/model/metadata", self.metadata)
            router.add(get, prefix + "/model/proto", self.proto)
            router.add(get, prefix + "/openapi.json", self.openapi)
            router.add(get, prefix + "/docs", self.docs)
        router.add(get, "/solutions", self.list_solutions)
        router.add(get, "/healthz", self.healthz)
        router.add(get, "/readyz", self.readyz)
        router.add(get, "/metrics", self.prometheus)
        return router
