"""The gateway's transport for its internal GETs: the runtime's lean keep-alive client
(`modelbay_runtime.lean_http`, which says why and how), also used by the solution orchestrator.

Why: the default `httpx.AsyncHTTPTransport` (httpcore, anyio, h11) cost about 0.4 ms of the
gateway's CPU per internal call on this machine, against about 0.05 ms for the lean client
(docs/benchmarks.md, "Gateway CPU per request"); every search and model page is one such call.
GETs over `http://` take the lean path; anything else (writes, uploads) goes to a regular
`httpx.AsyncHTTPTransport` with the same connection bound. Streamed answers (downloads) never
come here: `Upstreams.stream` uses the regular client. One copy of the client, in the runtime
(which must not depend on the platform's packages): the gateway depends on `modelbay-runtime`
as the builder does (docs/decisions.md).
"""

from __future__ import annotations

import httpx
from modelbay_runtime.lean_http import LeanTransport


class LeanReadTransport(LeanTransport):
    def __init__(self, *, max_connections: int = 100, max_keepalive: int = 32) -> None:
        super().__init__(
            methods=("GET",),
            max_connections=max_connections,
            max_keepalive=max_keepalive,
            fallback=httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=max_connections)),
        )
