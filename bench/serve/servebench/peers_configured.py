"""Peers in a second configuration (issue 14): their own batching on, the `async def` floor, and
the runtime with `--workers auto`, with the model in a thread (`--model-process off`) or with
its hot path off (`modelbay-asgi`).

Each is a base peer from `peers.py` with one thing changed, so the comparison is the same model,
the same request and the same interleaved cells; only the named setting differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from servebench.peers import BenchPaths, Peer
    from servebench.procs import Launch


def bentoml_batching(paths: BenchPaths) -> Peer:
    from servebench.peers import bentoml_peer

    base = bentoml_peer(paths, service="IrisClassifierBatched")
    return replace(
        base,
        name="bentoml-batch",
        label="BentoML, `@bentoml.api(batchable=True)`",
        workers=base.workers + "; adaptive batching on (batch_dim=0)",
    )


def mlserver_batching(paths: BenchPaths) -> Peer:
    from servebench.peers import mlserver_peer

    base = mlserver_peer(paths, repository="mlserver-batch")
    return replace(
        base,
        name="mlserver-batch",
        label="MLServer, `max_batch_size=64, max_batch_time=2 ms`",
        workers=base.workers + "; adaptive batching on",
    )


def fastapi_async(paths: BenchPaths) -> Peer:
    from servebench.peers import fastapi_peer

    base = fastapi_peer(paths)
    return replace(
        base,
        name="fastapi-async",
        label="bare FastAPI, `async def` endpoint (floor)",
        path=lambda model: "/predict_async",
    )


def modelbay_workers_auto(paths: BenchPaths) -> Peer:
    from servebench.peers import modelbay_peer

    base = modelbay_peer(paths, "--workers", "auto")
    return replace(
        base,
        name="modelbay-auto",
        label="Modelbay runtime, `--workers auto`",
        workers="one uvicorn worker per usable core (--workers auto), batching on in each",
    )


def modelbay_threads(paths: BenchPaths) -> Peer:
    """The runtime as it was before issue 14's session 4: the model in a thread of the serving
    process (one GIL for the event loop and the model), for A/B against the default."""
    from servebench.peers import modelbay_peer

    base = modelbay_peer(paths, "--model-process", "off")
    return replace(
        base,
        name="modelbay-threads",
        label="Modelbay runtime, `--model-process off`",
        workers="1 uvicorn worker, the model in a thread of it (one GIL), batching on",
    )


def modelbay_asgi(paths: BenchPaths) -> Peer:
    """The runtime with its hot path off (`MODELBAY_RUNTIME_HOT_PATH=off`): every request over
    uvicorn's ASGI cycle, as before issue 14's session 5, for A/B against the default."""
    from servebench.peers import modelbay_peer

    base = modelbay_peer(paths)

    def launch(model: str) -> Launch:
        started = base.launch(model)
        return replace(started, env={**started.env, "MODELBAY_RUNTIME_HOT_PATH": "off"})

    return replace(
        base,
        name="modelbay-asgi",
        label="Modelbay runtime, hot path off",
        workers=base.workers + "; every request over ASGI (MODELBAY_RUNTIME_HOT_PATH=off)",
        launch=launch,
    )


def configured_peers() -> dict[str, Callable[[BenchPaths], Peer]]:
    return {
        "modelbay-auto": modelbay_workers_auto,
        "modelbay-threads": modelbay_threads,
        "modelbay-asgi": modelbay_asgi,
        "bentoml-batch": bentoml_batching,
        "mlserver-batch": mlserver_batching,
        "fastapi-async": fastapi_async,
    }
