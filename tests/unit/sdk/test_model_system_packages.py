"""`Model(..., system_packages=[...])`: Debian package names, checked at definition, written to
the manifest (docs/system-packages.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from modelbay import Model, dump
from modelbay.model import ModelDefinitionError


def double(x: float) -> float:
    return 2 * x


def test_declared_packages_are_checked_sorted_and_deduplicated() -> None:
    model = Model(double=double, system_packages=["libsndfile1", "libgomp1", "libsndfile1"])
    assert model.system_packages == ("libgomp1", "libsndfile1")
    assert Model(double=double).system_packages == ()


@pytest.mark.parametrize("bad", ["LibGL1", "x", "-libfoo", "libfoo bar", "libfoo=1.0"])
def test_a_name_that_is_not_a_debian_package_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(ModelDefinitionError, match="is not a Debian package name"):
        Model(double=double, system_packages=["libgomp1", bad])


def test_a_single_string_is_refused() -> None:
    with pytest.raises(ModelDefinitionError, match="list of Debian package names"):
        Model(double=double, system_packages="libgomp1")


def test_the_manifest_lists_them_only_when_declared(tmp_path: Path) -> None:
    with_packages = dump(
        Model(double=double, system_packages=["libsndfile1"], samples={"double": [{"x": 1.0}]}),
        "doubler",
        tmp_path / "a",
    )
    plain = dump(Model(double=double, samples={"double": [{"x": 1.0}]}), "doubler", tmp_path / "b")
    assert json.loads((with_packages / "manifest.json").read_text())["system_packages"] == [
        "libsndfile1"
    ]
    assert "system_packages" not in json.loads((plain / "manifest.json").read_text())
