"""`modelbay.local_file`: a shipped data file is found in the bundle's `code/` wherever the bundle
runs, at dump time too (a file the model reads but did not list fails the dump), and a name
that climbs out of `code/` is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from modelbay import List, Model, local_file
from modelbay.bundle import dump
from modelbay_runtime import files
from modelbay_runtime.loader import load_bundle


def threshold(scores: List[float]) -> List[bool]:
    limit = json.loads(local_file("limits.json").read_text())["limit"]
    return [s > limit for s in scores]


@pytest.fixture(autouse=True)
def _no_bundle_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "_code_dir", None)


def test_the_bundle_ships_the_file_and_the_loaded_model_reads_its_copy(tmp_path: Path) -> None:
    source = tmp_path / "data" / "limits.json"
    source.parent.mkdir()
    source.write_text('{"limit": 0.5}')
    model = Model(threshold=threshold, samples={"threshold": [{"scores": [0.2, 0.7]}]})
    bundle = dump(model, "limits", tmp_path / "bundle", local_files=[source])
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["samples"]["threshold"][0]["output"] == {"value": [False, True]}
    assert "code/limits.json" in manifest["files"]

    source.write_text('{"limit": 0.1}')  # the bundle keeps what was shipped
    loaded = load_bundle(bundle)
    assert loaded.methods["threshold"].call({"scores": [0.2]}) == {"value": [False]}
    assert local_file("limits.json") == (bundle / "code" / "limits.json").resolve()


def test_a_file_read_but_not_listed_fails_the_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "limits.json").write_text('{"limit": 0.5}')  # found in the session, not shipped
    assert threshold([0.9]) == [True]
    model = Model(threshold=threshold, samples={"threshold": [{"scores": [0.2]}]})
    with pytest.raises(FileNotFoundError, match="no such file in the bundle's code/"):
        dump(model, "limits", tmp_path / "bundle")


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../secret.json", "a/../../b"])
def test_names_outside_code_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="as listed in local_files"):
        local_file(name)
