"""The runtime's command line, one entry point for both commands:

    python -m modelbay_runtime serve BUNDLE_DIR [options]   # the model server under uvicorn
    python -m modelbay_runtime check BUNDLE_DIR [--rel-tol R] [--abs-tol A]   # every sample, 0/1
    python -m modelbay_runtime orchestrate SOLUTION_DIR [SOLUTION_DIR ...]   # solutions only

`serve` of a solution bundle (a directory with `solution.json`, docs/solutions.md) runs the
solution orchestrator instead of the model server, so a solution image is built and started
exactly like a model image; `orchestrate` serves several solutions in one process.

`check` loads only the runtime core (no server dependencies), so it runs in a venv built from the
bundle's requirements plus the bare runtime wheel. It is a subcommand here rather than
`python -m modelbay_runtime.loader`, which ran `loader.py` as `__main__` beside the imported
`modelbay_runtime.loader`: two copies of the module, two distinct `BundleError` classes.

Every `serve` option also has a `MODELBAY_RUNTIME_<NAME>` environment variable (flags win). The
resolved settings are exported to the environment so uvicorn worker processes, which start
fresh and each load the model themselves, see the same configuration.

Exit status of `serve`: 0 after a normal stop, 3 when the model could not be loaded (the last
line on stderr then reads `modelbay-runtime: the model could not be loaded: <Type>: <message>`,
naming the innermost error), 4 when the model process died while serving (`modelbay-runtime:
the model process died: <cause>`), 2 for bad arguments (argparse).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelbay_runtime.server.settings import RuntimeSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m modelbay_runtime")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="run every sample of a bundle, compare outputs")
    check.add_argument("bundle", help="bundle directory (with manifest.json)")
    check.add_argument("--rel-tol", type=float, help="relative float tolerance (default 1e-6)")
    check.add_argument("--abs-tol", type=float, help="absolute float tolerance (default 1e-9)")
    serve = commands.add_parser("serve", help="serve a model bundle over HTTP")
    serve.add_argument("bundle_dir", nargs="?", help="unpacked bundle (env BUNDLE_DIR)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=worker_count,
        help="uvicorn worker processes (default 1); 'auto': one per usable core",
    )
    serve.add_argument(
        "--grpc-port", type=int, help="also serve gRPC (OIP v2, the model's service); 0 = off"
    )
    serve.add_argument(
        "--max-batch-size",
        type=int,
        help="cost budget of one merged model call, in rows (default 1024)",
    )
    serve.add_argument("--max-batch-wait-ms", type=float, help="longest wait to fill a batch")
    serve.add_argument("--max-body-bytes", type=int, help="larger request bodies get 413")
    serve.add_argument("--model-threads", type=int, help="threads that call the model")
    serve.add_argument(
        "--model-process",
        choices=["auto", "on", "off"],
        help="call the model in a process of its own (default auto: Python models, 2+ cores)",
    )
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
    orchestrate = commands.add_parser("orchestrate", help="serve one or more solution bundles")
    orchestrate.add_argument("bundle_dirs", nargs="+", help="solution bundle directories")
    orchestrate.add_argument("--host")
    orchestrate.add_argument("--port", type=int)
    orchestrate.add_argument("--workers", type=int, help="uvicorn worker processes (default 1)")
    orchestrate.add_argument(
        "--log-level", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def worker_count(text: str) -> int:
    """`--workers N` or `--workers auto`: the cores this process may run on (its CPU affinity,
    which a container's cpuset narrows), not the machine's."""
    if text == "auto":
        from modelbay_runtime.server.settings import usable_cores

        return usable_cores()
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'auto'") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        from modelbay_runtime.loader_check import (
            DEFAULT_ABS_TOL,
            DEFAULT_REL_TOL,
            check_bundle,
        )

        return check_bundle(
            args.bundle,
            rel_tol=DEFAULT_REL_TOL if args.rel_tol is None else args.rel_tol,
            abs_tol=DEFAULT_ABS_TOL if args.abs_tol is None else args.abs_tol,
        )
    return _serve(args)


_MODEL_FACTORY = "modelbay_runtime.server.app:create_app_from_env"
_ORCHESTRATOR_FACTORY = "modelbay_runtime.orchestrator:create_orchestrator_from_env"


def _serve(args: argparse.Namespace) -> int:
    from modelbay_runtime.server.settings import RuntimeSettings

    settings = RuntimeSettings.from_env()
    orchestrating = args.command == "orchestrate"
    if orchestrating:
        os.environ["MODELBAY_SOLUTION_BUNDLES"] = os.pathsep.join(args.bundle_dirs)
    overrides = {
        key: value
        for key, value in vars(args).items()
        if key not in ("command", "bundle_dirs") and value is not None
    }
    settings = replace(settings, **overrides)
    settings.check()
    os.environ.update(settings.to_env())
    if not orchestrating:
        # Before anything else is imported: the model process imports the model's stack (most
        # of a cold start) on the second core while this one imports uvicorn and the HTTP side
        # (model_spawn.py). The server adopts it; /readyz waits for its "loaded" answer.
        from modelbay_runtime.server.model_spawn import prestart_if_used

        prestart_if_used(settings)
    from modelbay_runtime.server.model_spawn import is_solution_bundle

    factory = _ORCHESTRATOR_FACTORY
    if not orchestrating and not is_solution_bundle(settings.bundle_dir):
        factory = _MODEL_FACTORY
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are separate processes: share metric values through files so that /metrics
        # reports the whole server, whichever worker answers the scrape.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="modelbay-metrics-")

    from modelbay_runtime.server import load_failure

    failure_dir = tempfile.mkdtemp(prefix="modelbay-load-")
    failure_record = os.path.join(failure_dir, "cause")
    os.environ[load_failure.LOAD_FAILURE_FILE_ENV] = failure_record
    os.environ[load_failure.SUPERVISOR_PID_ENV] = str(os.getpid())
    # uvicorn re-raises the signal that stopped it once it has shut down; a handler of ours then
    # turns it into an exception so a load failure can still be reported below. Otherwise a
    # SIGTERM (docker stop, Kubernetes) is an ordinary stop after in-flight requests finished:
    # exit 0, as every Modelbay process does (issue 15, docs/operations.md).
    signal.signal(signal.SIGTERM, _raise_stopped)
    with contextlib.suppress(_StoppedBySignal):
        _run_uvicorn(factory, settings)
    cause = load_failure.recorded_failure(failure_record)
    shutil.rmtree(failure_dir, ignore_errors=True)
    if cause is not None:
        line, status = load_failure.exit_line_and_status(cause)
        print(line, file=sys.stderr, flush=True)
        return status
    return 0


class _StoppedBySignal(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


def _raise_stopped(signum: int, frame: object) -> None:
    raise _StoppedBySignal(signum)


def _http_protocol() -> Any:
    try:
        from modelbay_runtime.server.hot_path import uvicorn_http_protocol
    except ImportError:  # no httptools (or a uvicorn without it): everything over ASGI
        return "auto"
    return uvicorn_http_protocol()


def _run_uvicorn(factory: str, settings: RuntimeSettings) -> None:
    import uvicorn

    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,  # one log line per prediction costs throughput; metrics count them
        loop="auto",  # uvloop when installed
        http=_http_protocol(),  # httptools when installed, predictions off ASGI (hot_path.py)
        lifespan="on",
        # No X-Forwarded-* rewriting: the server never reads the client address (no access
        # log), and the middleware is one more layer on every request (issue 14's profile).
        proxy_headers=False,
    )


if __name__ == "__main__":
    sys.exit(main())
