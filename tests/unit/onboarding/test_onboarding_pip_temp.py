"""pip's temp dirs live inside the owned resolve directory. Found by the fault suite's long form
(20 pushes, `make test-chaos`): a pip killed with its onboarding process left `pip-unpack-*` and
`pip-download-*` in the system temp dir, where no sweep looks; inside the owner-tagged resolve
directory they are removed with it by the successor's sweep (`modelbay_common.scratch`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelbay_onboarding.pip_runner import pip_environment


def test_pip_gets_a_temp_dir_inside_the_resolve_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", "/tmp")
    monkeypatch.setenv("PIP_INDEX_URL", "https://elsewhere.example/simple")
    environment = pip_environment(tmp_path / "modelbay-resolve-x" / "pip-tmp")
    assert environment["TMPDIR"] == str(tmp_path / "modelbay-resolve-x" / "pip-tmp")
    assert "PIP_INDEX_URL" not in environment  # only the resolver's own options reach pip
