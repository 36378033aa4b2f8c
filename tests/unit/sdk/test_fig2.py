"""The paper's Fig. 2 script, with only its import lines and session constructor changed,
pushes a bundle whose requirements are exactly numpy and scikit-learn (pinned)."""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path

import pytest
from modelbay_runtime.loader import read_manifest, verify_checksums

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRIPT = REPO_ROOT / "examples" / "iris" / "iris_fig2.py"
# Fig. 2 exactly as printed in the Acumos paper (shared/seed/acumos-paper.md), kept in the
# repository so the comparison does not depend on anything outside the checkout.
PAPER_FIG2 = REPO_ROOT / "tests" / "models" / "fig2_paper.txt"
CHANGEABLE = re.compile(r"^(from \S+ import |import |session = )")


def _code_lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def _fig2_from_paper() -> str:
    return PAPER_FIG2.read_text(encoding="utf-8")


def test_example_differs_from_fig2_only_in_imports_and_session() -> None:
    diff = difflib.ndiff(_code_lines(_fig2_from_paper()), _code_lines(SCRIPT.read_text()))
    changed = [line[2:] for line in diff if line.startswith(("- ", "+ "))]
    assert changed, "the example should differ from the paper in its import lines"
    assert all(CHANGEABLE.match(line) for line in changed), changed


@pytest.fixture(scope="module")
def pushed_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("pushed")
    env = {**os.environ, "MODELBAY_URL": target.as_uri()}
    env.pop("MODELBAY_TOKEN", None)
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, cwd=target, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    archives = sorted(target.glob("*.tar.gz"))
    assert [a.name for a in archives] == ["iris_model-1.tar.gz"]
    return archives[0]


def test_fig2_requirements_are_exactly_numpy_and_scikit_learn(pushed_archive: Path) -> None:
    with tarfile.open(pushed_archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.loads(member.read())
    assert manifest["requirements"] == [
        f"numpy=={version('numpy')}",
        f"scikit-learn=={version('scikit-learn')}",
    ]
    # pandas is imported by the script but never used by the method.
    reasons = manifest["requirement_reasons"]
    assert "traced object numpy (global 'np' of classify_iris)" in reasons["numpy"]
    assert any("global 'clf' of classify_iris" in r for r in reasons["scikit-learn"])
    assert manifest["local_modules"] == []
    assert manifest["unresolved_imports"] == []


def test_fig2_archive_is_a_valid_bundle_that_serves(pushed_archive: Path, tmp_path: Path) -> None:
    with tarfile.open(pushed_archive) as tar:
        tar.extractall(tmp_path, filter="data")
    verify_checksums(tmp_path, read_manifest(tmp_path))
    # Load it in a fresh interpreter that cannot import the SDK: the pickle must not need it.
    program = (
        "import sys; sys.modules['modelbay'] = None\n"
        "from modelbay_runtime.loader import load_bundle\n"
        f"m = load_bundle({str(tmp_path)!r})\n"
        "out = m.methods['classify'].call({'sepal_length': [5.1, 6.7], 'sepal_width': [3.5, 3.0],"
        " 'petal_length': [1.4, 5.2], 'petal_width': [0.2, 2.3]})\n"
        "print(out)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'IrisType': [0, 2]}"
