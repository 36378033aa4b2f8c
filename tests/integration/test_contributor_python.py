"""The data scientist's own Python: on a fresh venv of 3.10 and of 3.13, the one install command of
docs/sdk.md works, a small typed model is dumped with the SDK, and the runtime checks the bundle.

Real interpreters (pyenv's, on these machines: `uv python` downloads need the internet, see
docs/decisions.md), real pip against the configured index; pip's own wheel cache makes reruns
cheap. A missing interpreter fails the test: it is what this test exists to exercise.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
INSTALL_COMMAND = "python -m pip install ./libs/runtime ./libs/sdk"
INTERPRETERS = {
    "3.10": Path("/root/.pyenv/versions/3.10.13/bin/python3.10"),
    "3.13": Path("/root/.pyenv/versions/3.13.0/bin/python3.13"),
}
STEP_TIMEOUT_SECONDS = 600  # a bound so a hang fails the test, not an assertion on speed

TYPED_MODEL = '''
from typing import List

from modelbay import Model, dump


def scale(values: List[float], factor: float) -> List[float]:
    """Multiplies every value by factor."""
    return [v * factor for v in values]


def describe(name: str, count: int) -> str:
    """A sentence about count things called name."""
    return f"{count} x {name}"


model = Model(
    scale=scale,
    describe=describe,
    samples={
        "scale": [{"values": [1.0, 2.5], "factor": 2.0}],
        "describe": [{"name": "apple", "count": 3}],
    },
)
dump(model, "tiny", "out/tiny")
'''


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_the_install_command_is_the_documented_one() -> None:
    assert f"\n{INSTALL_COMMAND}\n" in (REPO / "docs" / "sdk.md").read_text()


@pytest.mark.parametrize("version", sorted(INTERPRETERS))
def test_install_dump_and_check_on_a_fresh_venv(version: str, tmp_path: Path) -> None:
    interpreter = INTERPRETERS[version]
    assert interpreter.exists(), f"Python {version} is expected at {interpreter} on this machine"
    venv = tmp_path / "venv"
    _run([str(interpreter), "-m", "venv", str(venv)], tmp_path)
    python = venv / "bin" / "python"

    # The documented command, with `python` being the venv's (as after `source venv/bin/activate`).
    _run([str(python), *shlex.split(INSTALL_COMMAND)[1:]], REPO)

    (tmp_path / "train.py").write_text(TYPED_MODEL)
    _run([str(python), "train.py"], tmp_path)
    manifest = json.loads((tmp_path / "out" / "tiny" / "manifest.json").read_text())
    assert ".".join(manifest["python"].split(".")[:2]) == version
    assert manifest["requirements"] == []

    checked = _run([str(python), "-m", "modelbay_runtime", "check", "out/tiny"], tmp_path)
    assert "ok: 2 samples of tiny (2 methods) match" in checked.stdout + checked.stderr
    # The workspace interpreter is not the one under test.
    assert sys.version_info[:2] != tuple(int(part) for part in version.split("."))
