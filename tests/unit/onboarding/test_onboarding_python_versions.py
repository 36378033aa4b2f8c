"""A bundle made with a Python this platform has no base image for is refused at upload: 422
naming the versions served, which come from the registered base images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from modelbay_onboarding.errors import InvalidBundle
from modelbay_onboarding.settings import OnboardingSettings
from modelbay_onboarding.validation.archive import ArchiveLimits
from modelbay_onboarding.validation.bundle import BundleRules, validate_bundle
from onboarding_bundles import archive, edit_manifest, make_bundle_dir, refresh_checksums

LIMITS = ArchiveLimits(1000, 100_000_000, 100, 10_000_000, 10_000_000)
# What every service needs; none of it is touched here.
REQUIRED = {
    "database_url": "postgresql+asyncpg://modelbay@127.0.0.1/modelbay",
    "bus_url": "memory://",
    "blob_url": "file:///tmp/modelbay-unused",
}
TWO_BASES = {"3.13": "modelbay/python:3.13-trixie", "3.11": "modelbay/python:3.11-bookworm"}


def _refusal(bundle: Path, settings: OnboardingSettings) -> dict[str, Any]:
    rules = BundleRules(LIMITS, tuple(settings.supported_python_versions), require_samples=False)
    with pytest.raises(InvalidBundle) as refused:
        validate_bundle(archive(bundle, bundle.parent / "bundle.tar.gz"), rules)
    assert refused.value.status == 422
    [problem] = refused.value.extensions["errors"]
    return dict(problem)


def _made_with(tmp_path: Path, python: str) -> Path:
    bundle = make_bundle_dir(tmp_path / "adder")
    edit_manifest(bundle, lambda manifest: manifest.__setitem__("python", python))
    refresh_checksums(bundle)
    return bundle


def test_a_bundle_of_an_unserved_python_is_refused_naming_the_served_versions(
    tmp_path: Path,
) -> None:
    settings = OnboardingSettings(python_base_images=TWO_BASES, **REQUIRED)
    problem = _refusal(_made_with(tmp_path, "3.12.1"), settings)
    assert problem["field"] == "manifest.python"
    assert "made with Python 3.12.1" in problem["message"]
    assert "Python 3.11, 3.13 only" in problem["message"]


def test_a_registered_version_passes(tmp_path: Path) -> None:
    settings = OnboardingSettings(python_base_images=TWO_BASES, **REQUIRED)
    rules = BundleRules(LIMITS, tuple(settings.supported_python_versions), require_samples=False)
    bundle = _made_with(tmp_path, "3.13.0")
    validated = validate_bundle(archive(bundle, tmp_path / "bundle.tar.gz"), rules)
    assert validated.python_version == "3.13"
