"""Calling one node of a solution: protobuf over HTTP, a timeout and retries per node.

One pooled httpx transport (`httpx.AsyncHTTPTransport`: keep-alive connections to every node)
is shared by all the solutions of a process and owned by the server. Calls go to the transport
directly rather than through an `httpx.AsyncClient`: the client's cookie jar, redirect and auth
handling and URL merging cost ~0.1 ms of CPU per call (profiled) and a node needs none of them.

What is retried: connection failures, timeouts and the answers that mean "not now" (502, 503,
504: a node still loading, a proxy in between); never a 4xx (the same input would be refused
again) nor a 500 (the model failed on this input).
Back-off doubles from 50 ms. Every failure names the node and what happened, as a `NodeFailure`
the server renders as problem+json.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from modelbay_runtime.orchestrator.tracing import TraceContext
from modelbay_runtime.server.negotiation import X_PROTOBUF
from modelbay_runtime.solution import SolutionNode

log = logging.getLogger("modelbay_runtime.orchestrator")

RETRIED_STATUSES = frozenset({502, 503, 504})
FIRST_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 1.0


@dataclass
class NodeFailure(Exception):
    """A node did not answer with its output. `kind`: `refused` (4xx), `failed` (500 and other
    5xx), `unavailable` (502/503/504 on every attempt: loading, overloaded), `unreachable` (no
    connection) or `timeout`."""

    node: SolutionNode
    kind: str
    detail: str
    attempts: int
    status: int | None = None
    problem: dict[str, Any] | None = field(default=None)

    def __str__(self) -> str:
        return f"node {self.node.label()}: {self.detail}"


class NodeCaller:
    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport
        self._parsed: dict[str, httpx.URL] = {}  # URL parsing is a visible cost per call

    def _url(self, url: str) -> httpx.URL:
        parsed = self._parsed.get(url)
        if parsed is None:
            parsed = self._parsed[url] = httpx.URL(url)
        return parsed

    async def call(self, node: SolutionNode, url: str, body: bytes, trace: TraceContext) -> bytes:
        """POST `body` (the node's input message) to `url`; its output message's bytes."""
        attempts = node.retries + 1
        failure: NodeFailure | None = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                await asyncio.sleep(
                    min(FIRST_BACKOFF_SECONDS * 2 ** (attempt - 2), MAX_BACKOFF_SECONDS)
                )
            headers = {"content-type": X_PROTOBUF, "accept": X_PROTOBUF, **trace.child_headers()}
            timeout = node.timeout_seconds
            request = httpx.Request(
                "POST",
                self._url(url),
                headers=headers,
                content=body,
                extensions={
                    "timeout": {
                        "connect": timeout,
                        "read": timeout,
                        "write": timeout,
                        "pool": timeout,
                    }
                },
            )
            try:
                response = await self._transport.handle_async_request(request)
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            except httpx.TimeoutException:
                failure = NodeFailure(
                    node, "timeout", f"no answer within {node.timeout_seconds:g} s", attempt
                )
            except httpx.TransportError as exc:
                failure = NodeFailure(
                    node, "unreachable", f"cannot reach {url}: {_reason(exc)}", attempt
                )
            else:
                if response.status_code == 200:
                    return response.content
                failure = _answer_failure(node, response, attempt)
                if response.status_code not in RETRIED_STATUSES:
                    raise failure
            log.warning("%s (attempt %d of %d)", failure, attempt, attempts)
        assert failure is not None
        raise failure


def _answer_failure(node: SolutionNode, response: httpx.Response, attempt: int) -> NodeFailure:
    problem = _problem_of(response)
    said = ""
    if problem is not None:
        said = ": " + "; ".join(
            str(problem[key]) for key in ("title", "detail") if problem.get(key)
        )
    kind = "refused" if response.status_code < 500 else "failed"
    if response.status_code in RETRIED_STATUSES:
        kind = "unavailable"
    detail = f"answered HTTP {response.status_code}{said}"
    return NodeFailure(node, kind, detail, attempt, response.status_code, problem)


def _problem_of(response: httpx.Response) -> dict[str, Any] | None:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _reason(exc: httpx.TransportError) -> str:
    return str(exc) or type(exc).__name__
