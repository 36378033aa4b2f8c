"""What `ServiceHost` installs on every service so it can be watched (docs/operations.md).

- `install_metrics(app, service)`: the HTTP middleware (requests by route template, method and
  status; latency) and `GET /metrics` (the Prometheus text format, after the scrape probes ran).
- `instrumented(consumer, handler)`: events consumed per type and outcome, handler duration.
- `outbox_probe` / `dead_letter_probe`: scrape-time reads of the outbox backlog and the age of its
  oldest unpublished row, and of each consumer's dead-letter queue depth.

Route labels are the matched route's template (`/v1/models/{owner}/{name}`); a request no route
matched is labelled `unmatched`, so scanners cannot grow the series without bound.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelbay_common.bus.port import Handler
from modelbay_common.db import SessionFactory
from modelbay_common.events import Envelope
from modelbay_common.health import HandlersInFlight
from modelbay_common.metrics import platform_metrics, scrape_probes
from modelbay_common.tracing import consumer_span

__all__ = [
    "METRICS_PATH",
    "HttpMetricsMiddleware",
    "dead_letter_probe",
    "install_metrics",
    "instrumented",
    "metrics_response",
    "outbox_probe",
]

METRICS_PATH = "/metrics"
UNMATCHED_ROUTE = "unmatched"


class HttpMetricsMiddleware:
    """Pure ASGI (no body buffering, SSE streams pass through): counts and times each request."""

    def __init__(self, app: ASGIApp, service: str, routes: Sequence[Any] = ()) -> None:
        self.app = app
        self.service = service
        # FastAPI's router records `scope["route"]` for its API routes only; plain Starlette
        # routes (/metrics, /healthz, /readyz of the host) are found here instead.
        self.routes = routes
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def send_and_remember(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_remember)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route") or self._matching_route(scope)
        template = getattr(route, "path", None) if route is not None else None
        label = template if isinstance(template, str) and template else UNMATCHED_ROUTE
        method = str(scope.get("method", "GET"))
        key = (label, method, status)
        children = self._children.get(key)
        if children is None:
            # `labels()` takes a lock and builds a key per call; the children are few (routes,
            # methods and statuses are bounded), so each is looked up once.
            metrics = platform_metrics()
            children = self._children[key] = (
                metrics.http_requests.labels(self.service, label, method, str(status)),
                metrics.http_request_duration.labels(self.service, label, method),
            )
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)

    def _matching_route(self, scope: Scope) -> Any:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
        return None


async def metrics_response(_: Request) -> Response:
    """`GET /metrics`: every series of this process, database- and broker-backed ones fresh."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    await scrape_probes().refresh()
    return Response(generate_latest(platform_metrics().registry), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: Any, service: str) -> None:
    """Add the middleware and `/metrics` to a Starlette/FastAPI app (before it serves); anything
    else (a unit test's stand-in) is left as it is."""
    if not isinstance(app, Starlette):
        return
    app.add_middleware(HttpMetricsMiddleware, service=service, routes=app.router.routes)
    if not any(getattr(route, "path", None) == METRICS_PATH for route in app.router.routes):
        app.add_route(METRICS_PATH, metrics_response, methods=["GET"], include_in_schema=False)


def instrumented(
    consumer: str, handler: Handler, in_flight: HandlersInFlight | None = None
) -> Handler:
    """`handler` counted and timed per event type, in a span that continues the event's trace,
    and watched for a deadline by `in_flight` (liveness); exceptions pass through to the bus's
    retry."""
    metrics = platform_metrics()

    async def handle(envelope: Envelope) -> None:
        started = time.perf_counter()
        outcome = "failed"
        token = in_flight.begin(consumer, f"{envelope.type} {envelope.id}") if in_flight else 0
        try:
            with consumer_span(consumer, envelope):
                await handler(envelope)
            outcome = "handled"
        finally:
            if in_flight is not None:
                in_flight.end(token)
            metrics.event_handler_duration.labels(consumer, envelope.type).observe(
                time.perf_counter() - started
            )
            metrics.events_consumed.labels(consumer, envelope.type, outcome).inc()

    return handle


def outbox_probe(service: str, sessions: SessionFactory) -> Callable[[], Awaitable[None]]:
    """Sets the backlog and oldest-age gauges of `<service>.outbox` (one indexed query)."""
    from modelbay_common.host_status import read_outbox

    metrics = platform_metrics()

    async def probe() -> None:
        backlog, age = await read_outbox(service, sessions)
        metrics.outbox_backlog.labels(service).set(backlog)
        metrics.outbox_oldest_age.labels(service).set(age)

    return probe


@runtime_checkable
class DeadLetterCounter(Protocol):
    async def dead_letter_count(self, consumer: str) -> int: ...


def dead_letter_probe(bus: object, consumers: list[str]) -> Callable[[], Awaitable[None]] | None:
    """Sets `modelbay_dlq_messages` for each consumer; None when the bus cannot count."""
    if not isinstance(bus, DeadLetterCounter) or not consumers:
        return None
    counter = bus
    metrics = platform_metrics()

    async def probe() -> None:
        for consumer in consumers:
            metrics.dead_letters.labels(consumer).set(await counter.dead_letter_count(consumer))

    return probe
