"""The first-try corpus through the built image, on Python 3.11 and 3.13 (issue 13).

Each model script of `tests/models` is pushed with `Session.push` by a contributor's Python —
the workspace's 3.11, or pyenv's 3.13.0 in a fresh venv where the SDK is installed by the
documented command (docs/sdk.md) — and must reach `ready` (so its samples passed in the image),
then answer a request with the model's own predictions over JSON and over protobuf in a
container of the built image. The stack serves 3.13 from `modelbay/python:3.13-trixie`
(`python_base_images` in conftest.py). Each image must be built `FROM` its Python's base.

Adding a model (L13: LightGBM, OpenCV): a `CorpusModel` in `CORPUS`, keyed by script name;
`REPRESENTATIVE_313` says which also run on 3.13 in `make test` (the whole matrix runs in
`make test-corpus-long`: the 3.13 builds marked `long`).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
from e2e_client import Gateway, describe_failure
from e2e_runtime import call_json, call_protobuf, running_model

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS = REPO_ROOT / "tests" / "models"
PYTHON_313 = Path("/root/.pyenv/versions/3.13.0/bin/python3.13")
INSTALL_COMMAND = ["-m", "pip", "install", "./libs/runtime", "./libs/sdk"]  # docs/sdk.md
# What the contributor trains with on 3.13, beside the SDK (the corpus scripts' imports).
TRAINING_PACKAGES = [
    "scikit-learn", "onnx", "onnxruntime", "statsmodels", "catboost",
    "lightgbm", "opencv-python-headless",
]  # fmt: skip
STEP_TIMEOUT_SECONDS = 900  # bounds a hung install or push; never an assertion on speed

PUSH_SCRIPT = """
import json, sys
from modelbay import Session
from modelbay.deps import load_script

script, name, *local_files = sys.argv[1:]
model = load_script(script).model
result = Session(progress=False).push(model, name, local_files=local_files)
print(json.dumps({"owner": result.owner, "name": result.name, "version": result.version}))
"""


@dataclass(frozen=True)
class CorpusModel:
    """One corpus script, one of its methods, a request and the model's own answer to it.

    `request`/`expected` are natural JSON; `protobuf_request`/`protobuf_expected` the same
    values in protobuf's JSON mapping (enum value names, tensors as shape + values, int64 as
    strings, absent optional fields omitted), built into and read from real protobuf bytes."""

    method: str
    request: dict[str, Any]
    expected: dict[str, Any]
    protobuf_request: dict[str, Any]
    protobuf_expected: dict[str, Any]
    local_files: tuple[str, ...] = field(default=())  # relative to tests/models
    # Debian packages the image's SBOM must list (found from the wheels' ELF headers).
    debian_packages: tuple[str, ...] = field(default=())


THREE_FLOWERS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
FLOWER_COLUMNS = {
    "sepal_length": [5.1, 6.7, 5.9],
    "sepal_width": [3.5, 3.0, 3.0],
    "petal_length": [1.4, 5.2, 4.2],
    "petal_width": [0.2, 2.3, 1.5],
}
FLATS = {"area": [55.0, 120.0], "rooms": [2.0, 4.0]}
FLAT_PRICES = {
    "mean": [4952.53, 9676.01],
    "lower": [3006.14, 7744.46],
    "upper": [6898.91, 11607.57],
}

# Two rows of scikit-learn's breast-cancer data (lgbm_classifier.py's training set).
TWO_TUMOURS = [
    [17.99, 10.38, 122.8, 1001.0, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871, 1.095, 0.9053,
     8.589, 153.4, 0.006399, 0.04904, 0.05373, 0.01587, 0.03003, 0.006193, 25.38, 17.33, 184.6,
     2019.0, 0.1622, 0.6656, 0.7119, 0.2654, 0.4601, 0.1189],
    [13.54, 14.36, 87.46, 566.3, 0.09779, 0.08129, 0.06664, 0.04781, 0.1885, 0.05766, 0.2699,
     0.7886, 2.058, 23.56, 0.008462, 0.0146, 0.02387, 0.01315, 0.0198, 0.0023, 15.11, 19.26, 99.7,
     711.2, 0.144, 0.1773, 0.239, 0.1288, 0.2977, 0.07259],
]  # fmt: skip

CORPUS: dict[str, CorpusModel] = {
    "onnx_runtime": CorpusModel(
        method="classify",
        request={"features": THREE_FLOWERS},
        expected={"value": [0, 2, 1]},
        protobuf_request={
            "features": {"shape": [3, 4], "values": [v for row in THREE_FLOWERS for v in row]}
        },
        protobuf_expected={"value": ["0", "2", "1"]},
    ),
    "statsmodels_ols": CorpusModel(
        method="estimate",
        request=FLATS,
        expected=FLAT_PRICES,
        protobuf_request=FLATS,
        protobuf_expected=FLAT_PRICES,
    ),
    "catboost_classifier": CorpusModel(
        method="classify",
        request={**FLOWER_COLUMNS, "garden": ["south", "north", "north"]},
        expected={"value": [0, 2, 1]},
        protobuf_request={**FLOWER_COLUMNS, "garden": ["south", "north", "north"]},
        protobuf_expected={"value": ["0", "2", "1"]},
    ),
    "local_thresholds": CorpusModel(
        method="decide",
        request={"scores": [0.1, 0.5, 0.9]},
        expected={"value": ["decline", "review", "approve"]},
        protobuf_request={"scores": [0.1, 0.5, 0.9]},
        protobuf_expected={"value": ["decline", "review", "approve"]},
        local_files=("data/thresholds.json",),
    ),
    "class_scorer": CorpusModel(
        method="classify",
        request={"rows": THREE_FLOWERS},
        expected={"value": ["setosa", "virginica", "versicolor"]},
        protobuf_request={"rows": [{"values": row} for row in THREE_FLOWERS]},
        protobuf_expected={"value": ["setosa", "virginica", "versicolor"]},
    ),
    # Presence: debts 0.0 is present (a ratio of 0.0, not unknown), years_employed is absent.
    "optional_fields": CorpusModel(
        method="assess",
        request={"income": 4000.0, "debts": 0.0, "years_employed": None, "channel": "WEB"},
        expected={"ratio": 0.0, "missing": ["years_employed"], "channel": "WEB"},
        protobuf_request={"income": 4000.0, "debts": 0.0, "channel": "CHANNEL_WEB"},
        protobuf_expected={"ratio": 0.0, "missing": ["years_employed"], "channel": "CHANNEL_WEB"},
    ),
    # L13: wheels that need system libraries. LightGBM's lib_lightgbm.so needs libgomp.so.1,
    # installed from Debian in the image's system-package layer (docs/system-packages.md);
    # OpenCV headless needs libz.so.1, which every base has (dropped: no package, no layer).
    "lgbm_classifier": CorpusModel(
        method="malignant_probability",
        request={"features": TWO_TUMOURS},
        expected={"value": [0.798297449451721, 0.05089562406318693]},
        protobuf_request={
            "features": {"shape": [2, 30], "values": [v for row in TWO_TUMOURS for v in row]}
        },
        protobuf_expected={"value": [0.798297449451721, 0.05089562406318693]},
        debian_packages=("libgomp1",),
    ),
    "opencv_blur": CorpusModel(
        method="blur",
        request={"pixels": [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]},
        expected={"value": [2.25, 3.0, 4.0, 4.75, 4.25, 5.0, 6.0, 6.75]},
        protobuf_request={"pixels": {"shape": [2, 4], "values": [1, 2, 3, 4, 5, 6, 7, 8]}},
        protobuf_expected={"value": [2.25, 3.0, 4.0, 4.75, 4.25, 5.0, 6.0, 6.75]},
    ),
}
# On 3.13 in `make test`: a compiled wheel of another tag (onnxruntime's cp313, a method on an
# instance), classes and functions pickled by value (3.13 bytecode) with optional fields, and a
# shipped data file; the last two need no wheel beyond the runtime's, so they cost a build only.
# The scientific stacks (scikit-learn, statsmodels, CatBoost, ...) on 3.13 are `long`. Measured
# on the shared 2-core machine at load 8-15: 6 models on 3.11 + 3 on 3.13 took 31 min, CatBoost
# alone 11 min (an 830 MB image: its wheel pulls matplotlib, plotly, scipy, pandas).
REPRESENTATIVE_313 = frozenset({"onnx_runtime", "optional_fields", "local_thresholds"})
# The two heaviest stacks are `long` on 3.11 too, to keep `make test` inside CI's budget: CatBoost
# (830 MB image, 11 min at load 8-15) and statsmodels (4 min); both pass in make test-corpus-long.
HEAVY_311 = frozenset({"catboost_classifier", "statsmodels_ols"})


def _matrix() -> list[Any]:
    cases = [
        pytest.param(
            script,
            "3.11",
            id=f"{script}-py3.11",
            marks=(pytest.mark.long,) if script in HEAVY_311 else (),
        )
        for script in CORPUS
    ]
    for script in CORPUS:
        marks = () if script in REPRESENTATIVE_313 else (pytest.mark.long,)
        cases.append(pytest.param(script, "3.13", id=f"{script}-py3.13", marks=marks))
    return cases


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="session")
def contributor_python_313(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh 3.13 venv: the SDK by the documented command, then the training packages."""
    assert PYTHON_313.exists(), f"Python 3.13 is expected at {PYTHON_313} on this machine"
    venv = tmp_path_factory.mktemp("contributor313") / "venv"
    _run([str(PYTHON_313), "-m", "venv", str(venv)], REPO_ROOT)
    python = venv / "bin" / "python"
    _run([str(python), *INSTALL_COMMAND], REPO_ROOT)
    _run([str(python), "-m", "pip", "install", *TRAINING_PACKAGES], REPO_ROOT)
    return python


async def _push(python: Path, script: str, name: str, gateway: Gateway, work: Path) -> int:
    """Run `Session.push(model, name, local_files=...)` in the contributor's interpreter."""
    model = CORPUS[script]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELBAY_", "VIRTUAL_ENV"))}
    env.update(MODELBAY_URL=gateway.url, MODELBAY_TOKEN=gateway.token, PYTHONNOUSERSITE="1")
    command = [
        str(python),
        "-c",
        PUSH_SCRIPT,
        str(MODELS / f"{script}.py"),
        name,
        *(str(MODELS / f) for f in model.local_files),
    ]
    output = await asyncio.to_thread(_run, command, work, env)
    pushed = json.loads(output.strip().splitlines()[-1])
    return int(pushed["version"])


def assert_close(actual: Any, expected: Any, where: str = "") -> None:
    """Equal, floats within 1e-6 relative or 0.01 absolute (two-decimal rounding may flip)."""
    if isinstance(expected, float) and isinstance(actual, int | float):
        assert math.isclose(actual, expected, rel_tol=1e-6, abs_tol=0.011), (where, actual)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), (where, actual)
        assert actual.keys() == expected.keys(), (where, actual)
        for key, value in expected.items():
            assert_close(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), (where, actual)
        assert len(actual) == len(expected), (where, actual)
        for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
            assert_close(got, want, f"{where}[{index}]")
    else:
        assert actual == expected, (where, actual)


@pytest.mark.parametrize(("script", "python_version"), _matrix())
async def test_corpus_model_is_ready_and_predicts_in_its_image(
    script: str,
    python_version: str,
    alice: Gateway,
    docker_client: docker.DockerClient,
    python_base_images: dict[str, str],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    model = CORPUS[script]
    # 3.11: the workspace's interpreter, which has the SDK (make setup); 3.13: made on first use.
    python = (
        Path(sys.executable)
        if python_version == "3.11"
        else request.getfixturevalue("contributor_python_313")
    )
    name = f"{script}_py{python_version.replace('.', '')}"
    version = await _push(python, script, name, alice, tmp_path)

    detail = await alice.follow(alice.username, name, version)
    assert detail["status"] == "ready", describe_failure(detail)
    image = docker_client.images.get(detail["image_ref"])
    assert (
        image.labels["org.opencontainers.image.base.name"] == (python_base_images[python_version])
    )

    async with running_model(docker_client, detail["image_ref"]) as url:
        over_json = await call_json(url, model.method, model.request)
        over_protobuf = await call_protobuf(url, model.method, model.protobuf_request)
    assert_close(over_json, model.expected, "json")
    assert_close(over_protobuf, model.protobuf_expected, "protobuf")
    if model.debian_packages:
        sbom = await alice.http.get(f"/v1/models/{alice.username}/{name}/versions/{version}/sbom")
        assert sbom.status_code == 200, sbom.text
        debs = {c["name"] for c in sbom.json()["components"] if c["purl"].startswith("pkg:deb/")}
        assert set(model.debian_packages) <= debs, debs
