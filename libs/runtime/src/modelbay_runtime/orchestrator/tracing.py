"""W3C Trace Context (`traceparent`, `tracestate`) carried from a solution's caller to its nodes.

The orchestrator keeps the caller's trace id and gives every call to a node its own parent id, as
a tracing client span would, so a tracer behind the nodes sees one trace per solution request.
A missing or malformed `traceparent` starts a new trace (the spec's rule: never fail a request
over it).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_INVALID_TRACE_ID = "0" * 32
_INVALID_SPAN_ID = "0" * 16


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    parent_id: str
    flags: str = "01"
    tracestate: str | None = None

    @classmethod
    def from_headers(cls, traceparent: str | None, tracestate: str | None) -> TraceContext:
        match = _TRACEPARENT.match((traceparent or "").strip().lower())
        if (
            match is None
            or match[1] == "ff"
            or match[2] == _INVALID_TRACE_ID
            or match[3] == _INVALID_SPAN_ID
            or (match[1] == "00" and match[5])
        ):
            return cls(secrets.token_hex(16), secrets.token_hex(8))
        return cls(match[2], match[3], match[4], tracestate)

    def child_headers(self) -> dict[str, str]:
        """Headers for one outgoing call: same trace, a new span id as its parent."""
        headers = {"traceparent": f"00-{self.trace_id}-{secrets.token_hex(8)}-{self.flags}"}
        if self.tracestate:
            headers["tracestate"] = self.tracestate
        return headers
