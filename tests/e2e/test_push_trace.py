"""Issue 15: one push is one trace, from the SDK's upload to the catalog's `ready`.

The four services run in this test's event loop (`modelbay_embedded.platform`: embedded
PostgreSQL, the in-process bus, the local Docker engine and registry), with an OpenTelemetry SDK
tracer provider whose in-memory exporter catches every span. The SDK pushes a model without
third-party imports (tests/e2e/models/doubler.py, the smallest real image); the test then reads
the spans: one trace; a span per stage (the SDK's upload, the gateway, onboarding's receive,
validate, scan and store, the resolver, the builder's build, validation, push and sign, the
catalog's handling of each event); each consumer's span the child of the span that emitted its
event, across the bus and the outbox; the version's detail carrying the same trace id. The tree
is printed with its durations (docs/operations.md quotes one run).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from e2e_models import dump_model
from e2e_stack import Backends, free_port
from modelbay import Session
from modelbay_common.events import DependenciesResolved, ImageBuilt, ModelUploaded
from modelbay_embedded.platform import EmbeddedConfig, EmbeddedPlatform, detect_docker
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

MODEL = "traced-doubler"
POLLS = 3000  # × 0.2 s: a bound on waiting for the build, never a timing assertion


def _install_global_provider(provider: TracerProvider | None) -> None:
    # The API lets a process set its provider once; a test must also take it away again, so
    # later tests in this process run untraced. OpenTelemetry's own test kit resets the same
    # two globals (opentelemetry.test.globals_test.reset_trace_globals).
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    if provider is not None:
        trace.set_tracer_provider(provider)


@pytest.fixture
def exported_spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "modelbay-embedded"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _install_global_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        _install_global_provider(None)


@pytest.fixture
async def platform(
    backends: Backends,
    monkeypatch: pytest.MonkeyPatch,
    exported_spans: InMemorySpanExporter,
) -> AsyncIterator[EmbeddedPlatform]:
    monkeypatch.setenv("MODELBAY_BUILDER_BASE_IMAGE", backends.base_image)
    monkeypatch.setenv("MODELBAY_BUILDER_REGISTRY", backends.registry)
    monkeypatch.setenv("DOCKER_HOST", backends.docker_host)
    if backends.registry_token_key_file:
        monkeypatch.setenv("MODELBAY_REGISTRY_TOKEN_KEY_FILE", backends.registry_token_key_file)
    docker_status = detect_docker()
    assert docker_status.available, docker_status.detail
    # Outside pytest's tmp_path: the embedded PostgreSQL runs as a system user (see
    # test_fig2_embedded.py).
    data_dir = Path(tempfile.mkdtemp(prefix="modelbay-e2e-trace-"))
    config = EmbeddedConfig(data_dir=data_dir, port=free_port(), docker=True)
    embedded = EmbeddedPlatform(config, docker_status)
    try:
        await embedded.start()
    except BaseException:
        await embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    assert embedded.gateway is not None
    server = uvicorn.Server(
        uvicorn.Config(embedded.gateway.app, host=config.host, port=config.port, log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the embedded gateway stopped while starting"
            await asyncio.sleep(0.05)
        yield embedded
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving
        await embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def _push_and_wait(embedded: EmbeddedPlatform, work: Path) -> dict[str, Any]:
    # Dumped by the CLI from tests/e2e/models/doubler.py (no third-party imports), pushed by
    # the SDK in this process, where the tracer provider is.
    bundle = await dump_model("doubler", MODEL, work / "bundle")
    session = Session(url=embedded.url, token=embedded.token, progress=False)
    pushed = await asyncio.to_thread(session.push_bundle, bundle, MODEL)
    assert pushed.owner is not None
    detail: dict[str, Any] | None = None
    for _ in range(POLLS):
        detail = await asyncio.to_thread(session.version, pushed.owner, MODEL, pushed.version)
        if detail is not None and detail["status"] in ("ready", "failed"):
            break
        await asyncio.sleep(0.2)
    assert detail is not None, "the version was never recorded"
    assert detail["status"] == "ready", detail
    return detail


def _one(spans: list[ReadableSpan], name: str, **attributes: str) -> ReadableSpan:
    found = [
        span
        for span in spans
        if span.name == name
        and all((span.attributes or {}).get(key) == value for key, value in attributes.items())
    ]
    assert len(found) == 1, (name, attributes, [s.name for s in spans])
    return found[0]


def _parent_of(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    return by_id[span.parent.span_id]


def _ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[ReadableSpan]:
    found: list[ReadableSpan] = []
    while span.parent is not None:
        span = _parent_of(span, spans)
        found.append(span)
    return found


def _tree(spans: list[ReadableSpan]) -> str:
    """The trace as an indented tree with durations (start order), for docs/operations.md."""
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        children.setdefault(span.parent.span_id if span.parent else None, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time or 0):
            milliseconds = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
            group = (span.attributes or {}).get("messaging.consumer.group.name")
            suffix = f"  [{group}]" if group else ""
            lines.append(f"{'  ' * depth}{span.name}{suffix}  {milliseconds:,.0f} ms")
            assert span.context is not None
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


async def test_one_push_is_one_trace(
    platform: EmbeddedPlatform, exported_spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    detail = await _push_and_wait(platform, tmp_path)
    await asyncio.sleep(0.5)  # the catalog's span of ImageBuilt ends after its commit
    spans = list(exported_spans.get_finished_spans())

    push = _one(spans, "modelbay.push")
    assert push.parent is None
    assert push.context is not None
    trace_id = push.context.trace_id
    in_trace = [span for span in spans if span.context and span.context.trace_id == trace_id]
    print(f"\ntrace {trace_id:032x}: {len(in_trace)} spans\n{_tree(in_trace)}")

    # Every span about this version is in the push's trace: nothing started a trace of its own.
    subject_spans = [
        span
        for span in spans
        if str((span.attributes or {}).get("cloudevents.event_subject", "")).endswith(f"/{MODEL}/1")
    ]
    assert subject_spans
    assert all(span in in_trace for span in subject_spans)
    names = {span.name for span in in_trace}
    for stage in (
        "POST /v1/models/{owner}/{name}/versions",  # the gateway's server span
        "POST /internal/uploads/{owner}/{name}",  # onboarding's, under the gateway's call
        "onboarding.receive",
        "onboarding.validate",
        "onboarding.scan",
        "onboarding.store",
        "onboarding.resolve",
        "builder.build",
        "builder.image",
        "builder.validation",
        "builder.push",
        "builder.sign",
    ):
        assert stage in names, f"no {stage} span in the push's trace: {sorted(names)}"

    # HTTP: SDK → gateway → (its client span) → onboarding, each under the previous hop.
    gateway = _one(in_trace, "POST /v1/models/{owner}/{name}/versions")
    assert _parent_of(gateway, in_trace) is push
    onboarding = _one(in_trace, "POST /internal/uploads/{owner}/{name}")
    call = _parent_of(onboarding, in_trace)
    assert call.name == "onboarding POST"
    assert gateway in _ancestors(call, in_trace)
    assert onboarding in _ancestors(_one(in_trace, "onboarding.receive"), in_trace)

    # The bus: each consumer's span is the child of the span that emitted its event.
    resolver = _one(
        in_trace,
        f"process {ModelUploaded.type}",
        **{"messaging.consumer.group.name": "onboarding.resolver"},
    )
    assert _parent_of(resolver, in_trace).name == "onboarding.receive"
    builder_consumer = next(
        span
        for span in in_trace
        if span.name == f"process {DependenciesResolved.type}"
        and str((span.attributes or {}).get("messaging.consumer.group.name")).startswith("builder")
    )
    assert _parent_of(builder_consumer, in_trace) is resolver
    build = _one(in_trace, "builder.build")
    assert _parent_of(build, in_trace) is builder_consumer
    for stage in ("builder.image", "builder.validation", "builder.push", "builder.sign"):
        assert _parent_of(_one(in_trace, stage), in_trace) is build
    catalog_ready = next(
        span
        for span in in_trace
        if span.name == f"process {ImageBuilt.type}"
        and str((span.attributes or {}).get("messaging.consumer.group.name")).startswith("catalog")
    )
    assert _parent_of(catalog_ready, in_trace) is build

    # The version's detail names the trace.
    assert detail["trace_id"] == f"{trace_id:032x}"
