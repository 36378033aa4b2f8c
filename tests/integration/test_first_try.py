"""The "first try" guarantee: a bundle loads and passes its samples in a *fresh* environment
built only from its inferred requirements (plus the platform-provided runtime core).

For each model script in tests/models: `modelbay dump` it, assert the exact requirement set
(`EXPECTED` in the script), create a clean venv with `uv venv` + `uv pip install` from the
index, then run `python -m modelbay_runtime check` there. The wall time of venv creation
+ install + check is recorded in var/first_try_timings.json (measured, never asserted).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS = REPO_ROOT / "tests" / "models"
RUNTIME = REPO_ROOT / "libs" / "runtime"
UV = REPO_ROOT / ".tools" / "bin" / "uv"
TIMINGS = REPO_ROOT / "var" / "first_try_timings.json"
SCRIPTS = [
    "text_pipeline",
    "xgb_classifier",
    "lgbm_classifier",
    "pandas_function",
    "helper_pipeline",
    "closures_lambdas",
    "nested_enum",
    # The wider corpus (issue 13): onnxruntime, statsmodels, CatBoost, a data file shipped with
    # local_files, a class with __call__, optional fields.
    "onnx_runtime",
    "statsmodels_ols",
    "catboost_classifier",
    "local_thresholds",
    "class_scorer",
    "optional_fields",
]

pytestmark = pytest.mark.slow


def _constant(script: Path, name: str) -> object:
    """A literal assigned at the top of a script, read without running it."""
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
        if (  # `EXPECTED: set[str] = set()`: an annotated assignment
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and node.value is not None
        ):
            return ast.literal_eval(node.value)
    return None


def _clean_env() -> dict[str, str]:
    # Nothing of the workspace may leak into the fresh environment.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(args: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_clean_env(), capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def timings() -> Iterator[dict[str, float]]:
    measured: dict[str, float] = {}
    yield measured
    TIMINGS.parent.mkdir(exist_ok=True)
    previous = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    TIMINGS.write_text(json.dumps({**previous, **measured}, indent=2) + "\n")


@pytest.mark.parametrize("script_name", SCRIPTS)
def test_first_try(script_name: str, tmp_path: Path, timings: dict[str, float]) -> None:
    if not UV.exists():
        pytest.fail(f"{UV} is missing: run `make setup`")
    script = MODELS / f"{script_name}.py"
    bundle = tmp_path / "bundle"
    name = script_name.replace("_", "-")
    # LOCAL_FILES in a script: data files it ships, relative to the script (cwd is elsewhere).
    local_files = _constant(script, "LOCAL_FILES") or []
    shipped = [arg for f in local_files for arg in ("--local-file", MODELS / f)]
    command = [sys.executable, "-m", "modelbay.cli", "dump", f"{script}:model", name]
    dumped = _run(
        [*command, "--out", bundle, *shipped],
        cwd=tmp_path,
    )
    assert dumped.returncode == 0, dumped.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())

    names = {r.partition("==")[0] for r in manifest["requirements"]}
    assert names == _constant(script, "EXPECTED"), manifest["requirement_reasons"]
    assert all("==" in r for r in manifest["requirements"]), "every requirement is pinned"
    expected_local = _constant(script, "EXPECTED_LOCAL_MODULES") or set()
    assert {m["name"] for m in manifest["local_modules"]} == expected_local
    assert manifest["samples"], "every test model records samples"

    started = time.perf_counter()
    venv = tmp_path / "venv"
    created = _run([UV, "venv", "--quiet", "--python", sys.executable, venv], cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    installed = _run(
        [UV, "pip", "install", "--quiet", "--python", python, *manifest["requirements"], RUNTIME],
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr
    checked = _run([python, "-m", "modelbay_runtime", "check", bundle], cwd=tmp_path)
    timings[script_name] = round(time.perf_counter() - started, 2)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("ok:"), checked.stdout
    # The fresh venv really is fresh: the SDK is not there.
    probe = _run([python, "-c", "import modelbay"], cwd=tmp_path)
    assert probe.returncode != 0
