"""The orchestrator's transport for node calls: the shared lean keep-alive client
(`modelbay_runtime.lean_http`, which says why and how) for POSTs to plain-HTTP nodes.

A fan-out of three node calls spent most of its overhead in httpx's default transport
(docs/benchmarks.md, "Solutions"); node calls are a POST with a small body to a plain-HTTP peer
on the cluster network, the answer read whole, so they take the lean path. Anything else (an
`https://` node, another method) goes to `fallback`.
"""

from __future__ import annotations

import httpx

from modelbay_runtime.lean_http import LeanTransport


class LeanNodeTransport(LeanTransport):
    def __init__(
        self,
        *,
        max_connections: int = 256,
        max_keepalive: int = 64,
        fallback: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            methods=("POST",),
            max_connections=max_connections,
            max_keepalive=max_keepalive,
            fallback=fallback,
        )
