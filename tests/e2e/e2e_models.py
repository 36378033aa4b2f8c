"""Models the end-to-end tests push, and how a contributor pushes them.

- The paper's Fig. 2 script (`examples/iris/iris_fig2.py`) runs as is, with `MODELBAY_URL` and
  `MODELBAY_TOKEN` pointing at the stack: exactly what a data scientist does.
- The other models are scripts in `tests/e2e/models/`, written to a bundle with the `modelbay
  dump` command and pushed with `Session.push_bundle`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from e2e_client import Gateway
from modelbay.session import PushResult, Session

REPO_ROOT = Path(__file__).resolve().parents[2]
FIG2_SCRIPT = REPO_ROOT / "examples" / "iris" / "iris_fig2.py"
FIG2_NAME = "iris_model"  # the name the Fig. 2 script pushes
MODELS_DIR = Path(__file__).resolve().parent / "models"
MODELBAY_CLI = Path(sys.executable).parent / "modelbay"


def _run(command: list[str], env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited with {result.returncode}:\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )


def _client_env(gateway: Gateway) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    return {**env, "MODELBAY_URL": gateway.url, "MODELBAY_TOKEN": gateway.token}


async def push_fig2(gateway: Gateway, work_dir: Path) -> None:
    """Run the paper's Fig. 2 script as `gateway`'s user: it pushes `iris_model`."""
    command = [sys.executable, str(FIG2_SCRIPT)]
    await asyncio.to_thread(_run, command, _client_env(gateway), work_dir)


async def dump_model(script: str, name: str, out: Path, *extra: str) -> Path:
    """`modelbay dump tests/e2e/models/<script>.py:model <name> --out <out> [extra...]`."""
    command = [
        str(MODELBAY_CLI),
        "dump",
        f"{MODELS_DIR / script}.py:model",
        name,
        "--out",
        str(out),
    ]
    await asyncio.to_thread(_run, [*command, *extra], dict(os.environ), out.parent)
    return out


async def push_bundle(gateway: Gateway, bundle: Path, name: str) -> PushResult:
    """`Session.push_bundle` as `gateway`'s user (the SDK's own client, streamed upload)."""
    session = Session(url=gateway.url, token=gateway.token, progress=False)
    return await asyncio.to_thread(session.push_bundle, bundle, name)


def fig2_classifier() -> Any:
    """The Fig. 2 classifier, trained exactly as the script trains it (fixed seeds), and the
    test split it was not trained on."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    iris = load_iris()
    x_train, x_test, y_train, _ = train_test_split(
        iris.data, iris.target, test_size=0.33, random_state=42
    )
    clf = RandomForestClassifier(random_state=0)
    clf.fit(x_train, y_train)
    return clf, x_test


def as_fig2_input(rows: Any) -> dict[str, list[float]]:
    """Feature rows → the Fig. 2 `Input` message in natural JSON (one list per column)."""
    columns = ("sepal_length", "sepal_width", "petal_length", "petal_width")
    return {column: [float(row[i]) for row in rows] for i, column in enumerate(columns)}
