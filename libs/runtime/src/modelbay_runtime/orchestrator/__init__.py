"""The solution orchestrator (needs the `server` extra): runs a solution bundle's typed pipeline
over the model containers of its nodes (docs/solutions.md).

    python -m modelbay_runtime serve BUNDLE_DIR            # a solution bundle: this server
    python -m modelbay_runtime orchestrate DIR [DIR ...]   # several solutions in one process

`create_orchestrator(...)` builds the ASGI app; nothing is built at import time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import httpx

from modelbay_runtime.orchestrator.app import OrchestratorServer
from modelbay_runtime.orchestrator.runner import CompiledSolution, SolutionLoadError
from modelbay_runtime.orchestrator.settings import ClientLimits, node_urls
from modelbay_runtime.solution_bundle import SolutionBundle

__all__ = [
    "CompiledSolution",
    "OrchestratorServer",
    "SolutionLoadError",
    "create_orchestrator",
    "create_orchestrator_from_env",
    "load_solution",
]

BUNDLE_DIRS_VARIABLE = "MODELBAY_SOLUTION_BUNDLES"


def load_solution(bundle_dir: str, environ: Mapping[str, str] | None = None) -> CompiledSolution:
    """Read and verify a solution bundle, find its nodes (`settings.node_urls`), compile it."""
    bundle = SolutionBundle.read(bundle_dir)
    return CompiledSolution(bundle, node_urls(bundle.document, environ))


def create_orchestrator(
    bundle_dirs: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    max_body_bytes: int | None = None,
) -> OrchestratorServer:
    dirs = list(bundle_dirs)
    options = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
    return OrchestratorServer(
        lambda: [load_solution(d, environ) for d in dirs],
        limits=ClientLimits.from_env(environ),
        transport=transport,
        **options,
    )


def create_orchestrator_from_env() -> OrchestratorServer:
    """uvicorn factory: bundles from MODELBAY_SOLUTION_BUNDLES (`:`-separated), else the model
    server's MODELBAY_RUNTIME_BUNDLE_DIR, so a solution image runs like a model image."""
    from modelbay_runtime.server.settings import RuntimeSettings

    settings = RuntimeSettings.from_env()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request at INFO: one line per node call would cost more than the call.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    dirs = [d for d in os.environ.get(BUNDLE_DIRS_VARIABLE, "").split(os.pathsep) if d]
    return create_orchestrator(
        dirs or [settings.bundle_dir], max_body_bytes=settings.max_body_bytes
    )
