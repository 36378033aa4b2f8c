"""`python -m modelbay_runtime serve BUNDLE_DIR [options]`: run the model server under uvicorn.

Every option also has a `MODELBAY_RUNTIME_<NAME>` environment variable (flags win). The
resolved settings are exported to the environment so uvicorn worker processes, which start
fresh and each load the model themselves, see the same configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m modelbay_runtime")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a model bundle over HTTP")
    serve.add_argument("bundle_dir", nargs="?", help="unpacked bundle (env BUNDLE_DIR)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="uvicorn worker processes (default 1)")
    serve.add_argument("--max-batch-size", type=int, help="rows per merged model call")
    serve.add_argument("--max-batch-wait-ms", type=float, help="longest wait to fill a batch")
    serve.add_argument("--max-body-bytes", type=int, help="larger request bodies get 413")
    serve.add_argument("--model-threads", type=int, help="threads that call the model")
    serve.add_argument(
        "--batching", action=argparse.BooleanOptionalAction, default=None, help="adaptive batching"
    )
    serve.add_argument(
        "--warmup",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="call the model once with the bundle's first sample before reporting ready",
    )
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from modelbay_runtime.server.settings import RuntimeSettings

    settings = RuntimeSettings.from_env()
    overrides = {
        key: value for key, value in vars(args).items() if key != "command" and value is not None
    }
    settings = replace(settings, **overrides)
    settings.check()
    os.environ.update(settings.to_env())
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are separate processes: share metric values through files so that /metrics
        # reports the whole server, whichever worker answers the scrape.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="modelbay-metrics-")

    import uvicorn

    uvicorn.run(
        "modelbay_runtime.server.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,  # one log line per prediction costs throughput; metrics count them
        loop="auto",  # uvloop when installed
        http="auto",  # httptools when installed
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
