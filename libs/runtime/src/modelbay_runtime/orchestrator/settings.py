"""Where a solution's nodes are, and how the orchestrator's HTTP client is sized.

Node URLs come from the environment, because they are a fact of the deployment, not of the
solution: a node `detect_a` is called at, in order of precedence,

1. `MODELBAY_NODE_DETECT_A_URL` (one variable per node id, upper-cased);
2. the `detect_a` key of `MODELBAY_SOLUTION_NODES`, a JSON object `{node id: base URL}`;
3. the URL the node is already served at, for a node served as a local process (no image:
   the builder's local-process mode, embedded without Docker), as the platform resolved it;
4. `http://detect-a:8080`: the node id (`_` → `-`, a valid host name) as a host on the same
   network, the model image's port.

The server's own settings (host, port, body limit, log level) are the model server's
`MODELBAY_RUNTIME_*` variables, so `python -m modelbay_runtime serve` runs both alike.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from modelbay_runtime.solution import SolutionDocument

NODES_VARIABLE = "MODELBAY_SOLUTION_NODES"
NODE_PORT = 8080


@dataclass(frozen=True)
class ClientLimits:
    """The pooled client's limits: connections kept open to the nodes, in total."""

    max_connections: int = 256
    max_keepalive_connections: int = 64
    keepalive_expiry_seconds: float = 30.0
    # `lean` (node_transport.py) or `httpx` (httpx's own transport for every node call).
    http: str = "lean"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientLimits:
        env = os.environ if environ is None else environ
        return cls(
            max_connections=int(env.get("MODELBAY_ORCHESTRATOR_MAX_CONNECTIONS", 256)),
            max_keepalive_connections=int(env.get("MODELBAY_ORCHESTRATOR_MAX_KEEPALIVE", 64)),
            http="httpx" if env.get("MODELBAY_ORCHESTRATOR_HTTP") == "httpx" else "lean",
        )


def default_node_url(node_id: str) -> str:
    return f"http://{node_id.replace('_', '-')}:{NODE_PORT}"


def node_urls(
    document: SolutionDocument, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The base URL of every node of `document` (rules in the module docstring)."""
    env = os.environ if environ is None else environ
    raw = env.get(NODES_VARIABLE, "").strip()
    shared: dict[str, str] = {}
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{NODES_VARIABLE} is not JSON: {exc}") from None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise ValueError(f"{NODES_VARIABLE} must be a JSON object of node id → URL")
        shared = {str(k): v for k, v in parsed.items()}
    urls = {}
    for node_id in document.nodes:
        variable = f"MODELBAY_NODE_{node_id.upper()}_URL"
        served = document.nodes[node_id].resolved
        urls[node_id] = (
            env.get(variable)
            or shared.get(node_id)
            or (served.served_url if served is not None else None)
            or default_node_url(node_id)
        )
    return urls
