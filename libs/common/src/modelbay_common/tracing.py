"""Traces across the services: one push is one trace (docs/operations.md, "Traces").

The context travels two ways, both W3C Trace Context (`traceparent`, `tracestate`):

- over internal HTTP in the headers: FastAPI's native telemetry (or, on a plain Starlette app,
  `TracingMiddleware`, installed by the service host) opens a server span per request as the
  child of the caller's `traceparent`; `client_span` opens the caller's span and gives the
  headers to send;
- over the bus in the CloudEvents distributed-tracing extension: `with_trace_context` writes the
  current span into an envelope when it is emitted (so the outbox stores it and the relay
  publishes it, however late), and `consumer_span` opens the handler's span as its child.

Export: `configure_tracing` installs an SDK tracer provider exporting over OTLP/HTTP when
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Otherwise nothing
is installed: the API's default tracer makes non-recording spans, no exporter thread runs, and
no `traceparent` is written (there is no valid span to write).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelbay_common.events import Envelope

__all__ = [
    "TRACE_HEADERS",
    "TracingMiddleware",
    "client_span",
    "configure_tracing",
    "consumer_span",
    "context_of",
    "span",
    "trace_headers",
    "trace_id_of",
    "with_trace_context",
]

log = logging.getLogger(__name__)

TRACE_HEADERS = ("traceparent", "tracestate")
"""The W3C headers, which are also the CloudEvents distributed-tracing extension attributes."""

TRACER_NAME = "modelbay"
UNTRACED_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
"""Probes and scrapes every few seconds would bury the traces that matter."""

_W3C = TraceContextTextMapPropagator()
_configured_provider: Any = None


def configure_tracing(service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Export this process's spans over OTLP/HTTP when an endpoint is configured; else do nothing.

    Idempotent per process (the embedded mode's four services share one provider). Returns
    whether export is on. The exporter reads the standard `OTEL_EXPORTER_OTLP_*` variables
    (headers, timeout, compression) itself.
    """
    global _configured_provider
    env = os.environ if environ is None else environ
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint or env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if _configured_provider is not None:
        return True
    # Imported here: a process without an endpoint never loads the SDK or starts its thread.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    traces_url = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
        endpoint.rstrip("/") + "/v1/traces"
    )
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url)))
    trace.set_tracer_provider(provider)
    _configured_provider = provider
    log.info("traces exported over OTLP/HTTP to %s as %s", traces_url, service)
    return True


def shutdown_tracing() -> None:
    """Flush and stop the exporter `configure_tracing` started (at process exit)."""
    global _configured_provider
    provider, _configured_provider = _configured_provider, None
    if provider is not None:
        provider.shutdown()


def _tracer() -> trace.Tracer:
    # Looked up each time: a provider installed after start-up (or by a test) takes effect.
    return trace.get_tracer(TRACER_NAME)


def trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate`) of the current span; empty when nothing is traced."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier


def context_of(carrier: Mapping[str, str | None]) -> otel_context.Context:
    """The remote parent carried by `carrier` (headers or an envelope's attributes)."""
    present = {key: value for key, value in carrier.items() if value}
    return _W3C.extract(present)


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32-hex-digit trace id of a `traceparent` (`00-<trace id>-<span id>-<flags>`)."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or parts[1] == "0" * 32:
        return None
    return parts[1].lower()


def with_trace_context(envelope: Envelope) -> Envelope:
    """`envelope` carrying the current span in its distributed-tracing extension attributes."""
    headers = trace_headers()
    if not headers:
        return envelope
    return envelope.model_copy(update={key: headers.get(key) for key in TRACE_HEADERS})


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span]:
    """An internal span (a stage of a use case) under the current one; errors are recorded."""
    with _tracer().start_as_current_span(name, attributes=_attrs(attributes)) as current:
        yield current


@contextmanager
def span_under(name: str, carrier: Mapping[str, str | None], **attributes: Any) -> Iterator[Span]:
    """A span whose parent is the one `carrier` names, whatever is current (work picked up
    later from a stored `traceparent`: the builder's claimed build)."""
    with _tracer().start_as_current_span(
        name, context=context_of(carrier), attributes=_attrs(attributes)
    ) as current:
        yield current


@contextmanager
def client_span(name: str, **attributes: Any) -> Iterator[dict[str, str]]:
    """A client span for an internal HTTP call; yields the headers that carry it."""
    with _tracer().start_as_current_span(name, kind=SpanKind.CLIENT, attributes=_attrs(attributes)):
        yield trace_headers()


@contextmanager
def consumer_span(consumer: str, envelope: Envelope) -> Iterator[Span]:
    """The span of one event's handling, the child of the span that emitted the event."""
    carrier = {"traceparent": envelope.traceparent, "tracestate": envelope.tracestate}
    attributes = {
        "messaging.system": "modelbay",
        "messaging.operation.type": "process",
        "messaging.consumer.group.name": consumer,
        "cloudevents.event_id": envelope.id,
        "cloudevents.event_source": envelope.source,
        "cloudevents.event_type": envelope.type,
        "cloudevents.event_subject": envelope.subject,
    }
    with _tracer().start_as_current_span(
        f"process {envelope.type}",
        context=context_of(carrier),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    ) as current:
        yield current


def _attrs(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if value is not None}


class TracingMiddleware:
    """Pure ASGI: a server span per request, the child of the caller's `traceparent`.

    The span is named `METHOD <route template>` once routing has matched (the template, not
    the path, so names stay few); probes and scrapes are not traced.
    """

    def __init__(self, app: ASGIApp, service: str, routes: Sequence[Any] = ()) -> None:
        self.app = app
        self.service = service
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers", [])
            if key.decode("latin-1") in TRACE_HEADERS
        }
        method = str(scope.get("method", "GET"))
        with _tracer().start_as_current_span(
            method,
            context=context_of(headers),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": str(scope.get("path", "")),
                "modelbay.service": self.service,
            },
            record_exception=True,
            set_status_on_exception=True,
        ) as current:

            async def send_and_record(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    current.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        current.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, send_and_record)
            finally:
                template = self._template(scope)
                if template is not None:
                    current.set_attribute("http.route", template)
                    current.update_name(f"{method} {template}")

    def _template(self, scope: Scope) -> str | None:
        route = scope.get("route")
        if route is None:
            route = next((r for r in self.routes if r.matches(scope)[0] is Match.FULL), None)
        template = getattr(route, "path", None)
        return template if isinstance(template, str) and template else None


def install_tracing(app: Any, service: str) -> None:
    """Give a Starlette app server spans (`TracingMiddleware`) before it serves.

    A FastAPI app needs none: FastAPI's native telemetry (`fastapi.telemetry`) opens a server
    span per request from the W3C headers, named by the route template, with spans for its
    dependencies, endpoint and serialization; a second server span would only duplicate it
    (found in the push trace test).
    """
    from starlette.applications import Starlette

    if isinstance(app, Starlette) and not _fastapi_traces_itself(app):
        app.add_middleware(TracingMiddleware, service=service, routes=app.router.routes)


def _fastapi_traces_itself(app: Any) -> bool:
    try:
        import fastapi.telemetry  # noqa: F401  (present from the FastAPI that traces natively)
        from fastapi import FastAPI
    except ImportError:
        return False
    return isinstance(app, FastAPI)
