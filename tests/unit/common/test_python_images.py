"""The registered Python base images: one shared variable tells onboarding which versions to
accept and the builder which `FROM` to use (docs/builder.md, "Python versions")."""

from __future__ import annotations

import json

import pytest
from modelbay_builder.settings import BuilderSettings
from modelbay_common.python_images import check_python_base_images, served_python_versions
from modelbay_onboarding.settings import OnboardingSettings
from pydantic import ValidationError

# What every service needs; none of it is touched here.
REQUIRED = {
    "database_url": "postgresql+asyncpg://modelbay@127.0.0.1/modelbay",
    "bus_url": "memory://",
    "blob_url": "file:///tmp/modelbay-unused",
}
TWO_BASES = {"3.13": "modelbay/python:3.13-trixie", "3.11": "modelbay/python:3.11-bookworm"}


def test_by_default_the_platform_serves_python_3_11_from_the_bookworm_base() -> None:
    assert OnboardingSettings(**REQUIRED).python_base_images == {
        "3.11": "modelbay/python:3.11-bookworm"
    }
    assert OnboardingSettings(**REQUIRED).supported_python_versions == ["3.11"]


def test_one_shared_variable_registers_a_base_image_for_both_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELBAY_PYTHON_BASE_IMAGES", json.dumps(TWO_BASES))
    assert OnboardingSettings(**REQUIRED).supported_python_versions == ["3.11", "3.13"]
    builder = BuilderSettings(**REQUIRED)
    assert builder.base_image_for("3.13") == "modelbay/python:3.13-trixie"
    assert builder.base_image_for("3.11") == "modelbay/python:3.11-bookworm"
    assert builder.base_image_for("3.12") is None
    assert builder.served_python_versions() == ("3.11", "3.13")


def test_without_registered_images_the_builder_keeps_its_single_base_image() -> None:
    builder = BuilderSettings(base_image="python:3.11-slim", **REQUIRED)
    assert builder.base_image_for("3.11") == "python:3.11-slim"


@pytest.mark.parametrize(
    ("images", "complaint"),
    [
        ({}, "at least one"),
        ({"3": "x"}, "'3' is not a `3.N` version"),
        ({"3.11.4": "x"}, "'3.11.4' is not a `3.N` version"),
        ({"3.11": " "}, "empty image name"),
    ],
)
def test_a_malformed_registration_is_refused_naming_it(
    images: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        check_python_base_images(images)
    with pytest.raises(ValidationError, match=complaint):
        OnboardingSettings(python_base_images=images, **REQUIRED)


def test_versions_sort_numerically() -> None:
    assert served_python_versions({"3.9": "a", "3.13": "b", "3.11": "c"}) == ("3.9", "3.11", "3.13")
