"""What `modelbay up` calls: the SDK finds `run_platform` through the `modelbay.platform` entry
point group (declared in this package's pyproject.toml), so the SDK never imports a service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from modelbay_common.tracing import configure_tracing, shutdown_tracing

from modelbay_embedded.platform import EmbeddedConfig, default_data_dir, serve_embedded


def run_platform(
    *,
    data_dir: Path | None,
    host: str,
    port: int,
    docker: bool | None,
    announce: Callable[[str], object],
) -> None:
    """Serve the whole platform until Ctrl-C or SIGTERM; `announce` receives every line for
    the user."""
    config = EmbeddedConfig(
        data_dir=data_dir or default_data_dir(), host=host, port=port, docker=docker
    )
    announce(f"Starting Modelbay (embedded) with data in {config.data_dir} ...")
    # One provider for the four services of this process, only when OTEL_EXPORTER_OTLP_*
    # names an endpoint (docs/operations.md, "Traces").
    if configure_tracing("modelbay-embedded"):
        announce("Traces are exported over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT)")
    try:
        # Ctrl-C, or a SIGTERM during start-up (which cancels the start): a clean stop, exit 0.
        with suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(serve_embedded(config, announce=announce))
    finally:
        shutdown_tracing()
    announce(f"Modelbay stopped; your data stays in {config.data_dir}")
