"""Onboarding checks the manifest's `system_packages` with Debian's package-name rule."""

from __future__ import annotations

import pytest
from modelbay_onboarding.errors import InvalidBundle
from modelbay_onboarding.validation.manifest import check_system_packages
from modelbay_onboarding.validation.problems import BundleProblems


def test_valid_names_pass_sorted_and_deduplicated() -> None:
    problems = BundleProblems()
    names = ["libsndfile1", "libgl1", "libstdc++6", "libsndfile1", "libglib2.0-0"]
    assert check_system_packages(names, problems) == (
        "libgl1", "libglib2.0-0", "libsndfile1", "libstdc++6",
    )  # fmt: skip
    problems.raise_if_any()


def test_a_bad_name_is_a_problem_naming_its_place() -> None:
    problems = BundleProblems()
    assert check_system_packages(["libgl1", "rm -rf /", "X"], problems) == ("libgl1",)
    with pytest.raises(InvalidBundle) as raised:
        problems.raise_if_any()
    fields = [error["field"] for error in raised.value.extensions["errors"]]
    assert fields == ["manifest.system_packages[1]", "manifest.system_packages[2]"]
    assert str(raised.value).startswith(
        "manifest.system_packages[1]: 'rm -rf /' is not a Debian package name"
    )
