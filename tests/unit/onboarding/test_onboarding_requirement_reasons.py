"""Onboarding carries the manifest's `requirement_reasons` into ModelUploaded, capped."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from modelbay_common.access import Caller
from modelbay_common.events.pipeline import (
    MAX_REASON_CHARS,
    MAX_REASONS_PER_REQUIREMENT,
    ModelUploaded,
)
from modelbay_onboarding.service import UploadService
from modelbay_onboarding.spool import SpooledUpload
from modelbay_onboarding.validation.archive import ArchiveLimits
from modelbay_onboarding.validation.bundle import BundleRules, validate_bundle
from modelbay_onboarding.validation.requirement_reasons import requirement_reasons
from onboarding_bundles import archive, edit_manifest, make_bundle_dir

RULES = BundleRules(
    limits=ArchiveLimits(1000, 100_000_000, 100, 10_000_000, 10_000_000),
    supported_python=("3.11",),
    require_samples=False,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle_dir(tmp_path_factory.mktemp("pristine") / "adder")


def _uploaded(bundle_dir: Path) -> ModelUploaded:
    bundle = validate_bundle(archive(bundle_dir, bundle_dir.parent / "bundle.tar.gz"), RULES)
    upload = SpooledUpload(bundle_dir.parent / "bundle.tar.gz", 1, "0" * 64)
    return UploadService._uploaded_event(
        "alice", "adder", 1, "u-1", Caller(user="alice"), upload, bundle
    )


def test_the_event_carries_each_requirements_reasons(pristine: Path, tmp_path: Path) -> None:
    bundle_dir = Path(shutil.copytree(pristine, tmp_path / "adder"))

    def add_requirements(manifest: dict[str, Any]) -> None:
        manifest["requirements"] = ["Pillow==10.0.0", "numpy==2.0.0", "requests"]
        manifest["requirement_reasons"] = {
            "Pillow": ["traced object PIL.Image.Image", "user request"],
            "numpy": ["imported by model.py (import numpy)"],
            # Not a requirement of this bundle: it does not travel.
            "evil": ["<script>alert(1)</script>"],
        }

    edit_manifest(bundle_dir, add_requirements)
    event = _uploaded(bundle_dir)
    assert event.requirement_reasons == {
        "pillow": ("traced object PIL.Image.Image", "declared"),
        "numpy": ("imported by model.py (import numpy)",),
        "requests": ("declared",),  # no reason written: the contributor listed it by hand
    }
    # It survives the trip through the broker's JSON.
    assert ModelUploaded.model_validate_json(event.model_dump_json()) == event


def test_a_bundle_without_requirements_has_no_reasons(pristine: Path, tmp_path: Path) -> None:
    event = _uploaded(Path(shutil.copytree(pristine, tmp_path / "adder")))
    assert event.requirement_reasons == {}


def test_reasons_are_capped_in_number_and_length() -> None:
    many = [f"traced object numpy.thing{i}" for i in range(MAX_REASONS_PER_REQUIREMENT + 3)]
    long = "x" * (MAX_REASON_CHARS * 5)
    reasons = requirement_reasons(
        ("numpy==2.0.0", "scipy"),
        {"requirement_reasons": {"numpy": many, "scipy": [long, "  spaced\n  out  ", 7, ""]}},
    )
    assert reasons["numpy"] == tuple(many[:MAX_REASONS_PER_REQUIREMENT])
    truncated, spaced = reasons["scipy"]
    assert len(truncated) == MAX_REASON_CHARS
    assert truncated.endswith("…")
    assert spaced == "spaced out"


@pytest.mark.parametrize("raw", [None, "pillow", ["pillow"], {"numpy": "not a list"}])
def test_a_malformed_reasons_field_leaves_requirements_declared(raw: object) -> None:
    assert requirement_reasons(("numpy",), {"requirement_reasons": raw}) == {"numpy": ("declared",)}
