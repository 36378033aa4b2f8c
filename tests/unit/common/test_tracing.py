"""The tracing kit (modelbay_common.tracing): off at no cost, W3C context in and out."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from modelbay_common.events import DependencyResolutionStarted, envelope, parse_event
from modelbay_common.tracing import (
    TracingMiddleware,
    configure_tracing,
    consumer_span,
    span,
    trace_headers,
    trace_id_of,
    with_trace_context,
)
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _install(provider: TracerProvider | None) -> None:
    # Reset the API's set-once globals (as OpenTelemetry's own test kit does).
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    if provider is not None:
        trace.set_tracer_provider(provider)


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    _install(provider)
    try:
        yield spans
    finally:
        provider.shutdown()
        _install(None)


def started() -> DependencyResolutionStarted:
    return DependencyResolutionStarted(owner="alice", name="iris", version=1)


def test_without_an_endpoint_nothing_is_installed_and_nothing_is_written() -> None:
    threads = threading.active_count()
    assert configure_tracing("modelbay-test", environ={}) is False
    assert configure_tracing("modelbay-test", environ={"OTEL_SDK_DISABLED": "true"}) is False
    assert threading.active_count() == threads  # no exporter thread
    with span("a stage"):
        assert trace_headers() == {}
        wrapped = with_trace_context(envelope(started(), source="/modelbay/onboarding"))
    assert wrapped.traceparent is None
    # The envelope's JSON has no extension attributes at all when tracing is off.
    assert b"traceparent" not in wrapped.to_json()


def test_trace_id_of_reads_a_traceparent_and_refuses_anything_else() -> None:
    assert trace_id_of(PARENT) == "0af7651916cd43dd8448eb211c80319c"
    for bad in (None, "", "garbage", "00-" + "0" * 32 + "-b7ad6b7169203331-01", "00-abc-def-01"):
        assert trace_id_of(bad) is None


def test_an_envelope_carries_the_emitting_span_and_its_consumer_continues_it(
    exporter: InMemorySpanExporter,
) -> None:
    with span("onboarding.receive") as emitting:
        wrapped = with_trace_context(envelope(started(), source="/modelbay/onboarding"))
    # Through the wire format (the outbox stores JSON, RabbitMQ carries it).
    received = parse_event(wrapped.to_json())
    assert received.traceparent == wrapped.traceparent
    assert trace_id_of(received.traceparent) == f"{emitting.get_span_context().trace_id:032x}"

    with consumer_span("catalog.versions", received):
        pass
    consumer = next(s for s in exporter.get_finished_spans() if s.name.startswith("process"))
    assert consumer.name == f"process {DependencyResolutionStarted.type}"
    assert consumer.parent is not None
    assert consumer.parent.span_id == emitting.get_span_context().span_id
    assert (consumer.attributes or {})["messaging.consumer.group.name"] == "catalog.versions"


async def test_the_middleware_continues_the_callers_trace_and_names_the_route(
    exporter: InMemorySpanExporter,
) -> None:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.path_params["name"])

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/hello/{name}", hello), Route("/healthz", healthz)])
    traced = TracingMiddleware(app, service="test", routes=app.router.routes)
    transport = httpx.ASGITransport(app=traced)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/hello/bob", headers={"traceparent": PARENT})
        await client.get("/healthz")  # probes are not traced
    assert answer.text == "bob"
    (server,) = exporter.get_finished_spans()
    assert server.name == "GET /hello/{name}"
    assert server.kind is trace.SpanKind.SERVER
    assert f"{server.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == "b7ad6b7169203331"
    assert (server.attributes or {})["http.response.status_code"] == 200
