"""The servers under test: how to start each one and how to speak its native request format.

Each peer is one function returning a `Peer`; adding a server to the benchmark is adding one
such function to `all_peers`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servebench.client import free_port
from servebench.peers_configured import configured_peers
from servebench.procs import Launch

Rows = list[list[float]]


@dataclass(frozen=True)
class BenchPaths:
    here: Path  # bench/serve
    work: Path  # bench/serve/work (models, logs; git-ignored)
    venvs: Path  # bench/serve/.venvs

    def python(self, venv: str) -> str:
        return str(self.venvs / venv / "bin" / "python")

    def tool(self, venv: str, name: str) -> str:
        return str(self.venvs / venv / "bin" / name)


@dataclass(frozen=True)
class Peer:
    name: str
    label: str
    venv: str
    workers: str  # how the server runs its model, for the report
    packages: tuple[str, ...]  # distributions whose versions the report records
    launch: Callable[[str], Launch]  # model name -> how to start a server for it
    path: Callable[[str], str]  # model name -> request path
    body: Callable[[str, Rows], Any]  # (model name, rows) -> JSON request document
    predictions: Callable[[Any], list[int]]  # JSON response -> predicted classes
    available: Callable[[], str | None]  # None when ready, else why the peer is skipped


FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
COMMON_PACKAGES = ("scikit-learn", "numpy")


def server_env(paths: BenchPaths, venv: str, **extra: str) -> dict[str, str]:
    """The parent's environment, as if the peer's venv were activated, plus `extra`.

    Activation matters: `mlflow models serve` execs a bare `uvicorn` found on PATH.
    OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set on some hosts to protect old OpenBLAS builds;
    they slow a current numpy, so the benchmark drops both together (never in tests or CI).
    """
    dropped = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    bin_dir = paths.venvs / venv / "bin"
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(paths.venvs / venv)
    env.update(extra)
    return env


def _exists(path: Path, hint: str) -> Callable[[], str | None]:
    return lambda: None if path.exists() else f"{path} missing ({hint})"


def mlflow_peer(paths: BenchPaths) -> Peer:
    def launch(model: str) -> Launch:
        port = free_port()
        argv = [
            paths.tool("mlflow", "mlflow"),
            "models",
            "serve",
            "-m",
            str(paths.work / "mlflow" / model),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            "1",
        ]
        return Launch(
            argv,
            server_env(paths, "mlflow", MLFLOW_TRACKING_URI=str(paths.work / "mlruns")),
            paths.work,
            port,
        )

    return Peer(
        name="mlflow",
        label="MLflow (`mlflow models serve`)",
        venv="mlflow",
        workers="1 uvicorn worker (-w 1)",
        packages=("mlflow", "mlflow-skinny", "fastapi", "uvicorn", *COMMON_PACKAGES),
        launch=launch,
        path=lambda model: "/invocations",
        # The tensor form of MLflow's scoring protocol, matching the logged ndarray signature.
        body=lambda model, rows: {"inputs": rows},
        predictions=lambda doc: [int(v) for v in doc["predictions"]],
        available=_exists(paths.work / "mlflow", "export_mlflow.py did not run"),
    )


def bentoml_peer(paths: BenchPaths, service: str = "IrisClassifier") -> Peer:
    def launch(model: str) -> Launch:
        port = free_port()
        argv = [
            paths.tool("bentoml", "bentoml"),
            "serve",
            f"bentoml_service:{service}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        env = server_env(
            paths,
            "bentoml",
            BENTOML_HOME=str(paths.work / "bentoml_home"),
            BENTOML_DO_NOT_TRACK="true",
            BENCH_BENTO_MODEL=f"iris_{model}:latest",
        )
        return Launch(argv, env, paths.here / "peers", port)

    return Peer(
        name="bentoml",
        label="BentoML (`@bentoml.service`)",
        venv="bentoml",
        workers="1 service worker (workers=1) + supervisor",
        packages=("bentoml", "uvicorn", "starlette", *COMMON_PACKAGES),
        launch=launch,
        path=lambda model: "/classify",
        body=lambda model, rows: {"input_data": rows},
        predictions=lambda doc: [int(v) for v in doc],
        available=_exists(paths.work / "bentoml_home" / "models", "export_bentoml.py did not run"),
    )


def mlserver_peer(paths: BenchPaths, repository: str = "mlserver") -> Peer:
    def launch(model: str) -> Launch:
        port = free_port()
        repo = paths.work / repository / model
        settings = {
            "host": "127.0.0.1",
            "http_port": port,
            "grpc_port": free_port(),
            "metrics_port": free_port(),
        }
        (repo / "settings.json").write_text(json.dumps(settings, indent=2))
        return Launch(
            [paths.tool("mlserver", "mlserver"), "start", str(repo)],
            server_env(paths, "mlserver"),
            repo,
            port,
        )

    def predictions(doc: Any) -> list[int]:
        return [int(v) for v in doc["outputs"][0]["data"]]

    return Peer(
        name="mlserver",
        label="MLServer + mlserver-sklearn (V2)",
        venv="mlserver",
        workers="default: 1 inference worker process (parallel_workers=1) + main",
        packages=("mlserver", "mlserver-sklearn", "uvloop", "fastapi", "uvicorn", *COMMON_PACKAGES),
        launch=launch,
        path=lambda model: f"/v2/models/iris-{model}/infer",
        body=lambda model, rows: {
            "inputs": [
                {
                    "name": "input-0",
                    "shape": [len(rows), len(rows[0])],
                    "datatype": "FP64",
                    "data": [value for row in rows for value in row],
                }
            ]
        },
        predictions=predictions,
        available=_exists(paths.work / repository, "export_mlserver.py did not run"),
    )


def fastapi_peer(paths: BenchPaths) -> Peer:
    def launch(model: str) -> Launch:
        port = free_port()
        argv = [
            paths.python("fastapi"),
            "-m",
            "uvicorn",
            "fastapi_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        env = server_env(
            paths, "fastapi", BENCH_MODEL_PATH=str(paths.work / "models" / f"{model}.joblib")
        )
        return Launch(argv, env, paths.here / "peers", port)

    return Peer(
        name="fastapi",
        label="bare FastAPI + uvicorn (floor)",
        venv="fastapi",
        workers="1 uvicorn worker",
        packages=(
            "fastapi",
            "uvicorn",
            "uvloop",
            "httptools",
            "starlette",
            "pydantic",
            *COMMON_PACKAGES,
        ),
        launch=launch,
        path=lambda model: "/predict",
        body=lambda model, rows: {"rows": rows},
        predictions=lambda doc: [int(v) for v in doc["predictions"]],
        available=_exists(paths.work / "models", "train_models.py did not run"),
    )


def modelbay_peer(paths: BenchPaths, *options: str) -> Peer:
    """The Modelbay runtime serving a bundle made by `modelbay.dump` (Fig. 2 signature);
    `options` are extra `serve` flags (the `--workers auto` variant)."""

    def launch(model: str) -> Launch:
        port = free_port()
        argv = [
            paths.python("modelbay"),
            "-m",
            "modelbay_runtime",
            "serve",
            str(paths.work / "modelbay" / model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *options,
        ]
        return Launch(argv, server_env(paths, "modelbay"), paths.work, port)

    def available() -> str | None:
        pending = paths.work / "modelbay.pending"
        if pending.exists():
            return "pending: " + pending.read_text().strip()
        return _exists(paths.work / "modelbay", "export_modelbay.py did not run")()

    return Peer(
        name="modelbay",
        label="Modelbay runtime",
        venv="modelbay",
        workers="runtime defaults: 1 uvicorn worker, adaptive batching on, the model in a "
        "model process of its own (auto: a Python model on 2+ cores)",
        packages=(
            "modelbay-runtime",
            "uvicorn",
            "uvloop",
            "httptools",
            "prometheus-client",
            *COMMON_PACKAGES,
        ),
        launch=launch,
        path=lambda model: "/model/methods/classify",
        # Fig. 2's Input message: one List[float] column per feature.
        body=lambda model, rows: {
            name: [row[i] for row in rows] for i, name in enumerate(FEATURES)
        },
        predictions=lambda doc: [int(v) for v in doc["IrisType"]],
        available=available,
    )


PEER_FACTORIES: dict[str, Callable[[BenchPaths], Peer]] = {
    "modelbay": modelbay_peer,
    "mlflow": mlflow_peer,
    "bentoml": bentoml_peer,
    "mlserver": mlserver_peer,
    "fastapi": fastapi_peer,
}
PEER_FACTORIES.update(configured_peers())


def all_peers(paths: BenchPaths, names: list[str]) -> list[Peer]:
    return [PEER_FACTORIES[name](paths) for name in names]
