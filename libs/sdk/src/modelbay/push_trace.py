"""The push's trace, when the contributor's environment has OpenTelemetry (docs/operations.md).

The SDK does not depend on OpenTelemetry. When `opentelemetry-api` is importable, a push opens a
client span `modelbay.push` under whatever span the user's code has open, and sends the W3C
`traceparent` (and `tracestate`) header with the upload, so the platform's spans (gateway,
onboarding, resolver, builder, catalog) join the user's trace. Without a tracer provider the
span is not recording and no header is sent; without OpenTelemetry nothing happens at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

TRACER_NAME = "modelbay"


@contextmanager
def push_span(owner: str, name: str, kind: str = "model") -> Iterator[dict[str, str]]:
    """Yields the trace headers to send with the push (empty when nothing is traced)."""
    try:
        from opentelemetry import trace
        from opentelemetry.propagate import inject
    except ImportError:  # the SDK works the same without OpenTelemetry
        yield {}
        return
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        "modelbay.push",
        kind=trace.SpanKind.CLIENT,
        attributes={"modelbay.owner": owner, "modelbay.name": name, "modelbay.kind": kind},
    ):
        headers: dict[str, str] = {}
        inject(headers)  # the user's configured propagators; W3C trace context by default
        yield headers
