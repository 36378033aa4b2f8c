"""A pre-built image pushed by reference (docs/prebuilt-images.md, "By reference"): the bundle
carries `image_reference` instead of `image.tar`; onboarding accepts a well-formed reference
with a tag or digest, and then only one in the platform's registry and in the uploader's own
staging space — otherwise a 4xx naming the field and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from modelbay.prebuilt import dump_prebuilt
from modelbay_common.access import Caller
from modelbay_common.image_reference import ImageReference, parse_image_reference, staging_owner
from modelbay_onboarding.errors import (
    ImageNotInPlatformRegistry,
    ImageRepositoryForbidden,
    InvalidBundle,
)
from modelbay_onboarding.validation.bundle import validate_bundle
from modelbay_onboarding.validation.image_source import check_image_source
from onboarding_bundles import archive, edit_manifest, refresh_checksums
from test_onboarding_image_checks import PROTO, RULES, saved_image

REGISTRY = "127.0.0.1:5000"
DIGEST = "sha256:" + "0f" * 32
OWN = f"{REGISTRY}/staging/alice/thermo:1@{DIGEST}"


def reference_bundle(tmp_path: Path, reference: str = OWN) -> Path:
    proto = tmp_path / "model.proto"
    proto.write_text(PROTO)
    return dump_prebuilt(reference, proto, "thermo", tmp_path / "bundle")


def test_a_bundle_naming_an_image_passes_without_a_tarball(tmp_path: Path) -> None:
    bundle = reference_bundle(tmp_path)
    assert not (bundle / "image.tar").exists()
    validated = validate_bundle(archive(bundle, tmp_path / "b.tar.gz"), RULES)
    assert validated.image_reference == OWN
    assert validated.methods == ("convert",)
    check_image_source(OWN, registry=REGISTRY, caller=Caller("alice"))  # hers: accepted


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        (f"{REGISTRY}/staging/alice/thermo", "names no tag or digest"),
        ("thermo:1", "is not an image reference"),
        (f"{REGISTRY}/Staging/alice/thermo:1", "is not an image reference"),
    ],
)
def test_a_malformed_reference_is_refused_naming_the_field(
    tmp_path: Path, reference: str, reason: str
) -> None:
    bundle = reference_bundle(tmp_path)
    edit_manifest(bundle, lambda m: m.update(image_reference=reference))
    with pytest.raises(InvalidBundle) as refused:
        validate_bundle(archive(bundle, tmp_path / "b.tar.gz"), RULES)
    problems = {e["field"]: e["message"] for e in refused.value.extensions["errors"]}
    assert reason in problems["manifest.image_reference"], problems


def test_a_reference_and_a_tarball_together_are_refused(tmp_path: Path) -> None:
    bundle = reference_bundle(tmp_path)
    saved_image(bundle / "image.tar")
    refresh_checksums(bundle)
    with pytest.raises(InvalidBundle) as refused:
        validate_bundle(archive(bundle, tmp_path / "b.tar.gz"), RULES)
    problems = {e["field"]: e["message"] for e in refused.value.extensions["errors"]}
    assert problems["manifest.image_reference"] == "names an image and image.tar is one too"


def test_another_registry_is_refused_with_422_saying_where_to_push() -> None:
    with pytest.raises(ImageNotInPlatformRegistry) as refused:
        check_image_source(
            f"ghcr.io/alice/thermo@{DIGEST}", registry=REGISTRY, caller=Caller("alice")
        )
    problem = refused.value.to_problem()
    assert problem["status"] == 422
    assert problem["type"].endswith("/image-not-in-platform-registry")
    assert problem["field"] == "manifest.image_reference"
    assert "pulls pre-built images only from its own registry 127.0.0.1:5000" in problem["detail"]
    assert f"{REGISTRY}/staging/alice/<image>:<tag>" in problem["detail"]


@pytest.mark.parametrize(
    "repository", ["staging/bob/thermo", "alice/thermo", "staging/alice", "other/alice/thermo"]
)
def test_a_repository_outside_the_uploaders_staging_space_is_refused_with_403(
    repository: str,
) -> None:
    """Someone else's staging space, a model's repository (even the uploader's own model: push
    a new version of it instead), anything that is not `staging/<uploader>/<image>`."""
    with pytest.raises(ImageRepositoryForbidden) as refused:
        check_image_source(f"{REGISTRY}/{repository}:1", registry=REGISTRY, caller=Caller("alice"))
    problem = refused.value.to_problem()
    assert problem["status"] == 403
    assert f"{repository} is not in your staging space staging/alice/" in problem["detail"]


def test_the_shared_reference_rules() -> None:
    parsed = parse_image_reference(f"localhost:5000/staging/a-1/x/y:v1.2@{DIGEST}")
    assert parsed == ImageReference("localhost:5000", "staging/a-1/x/y", "v1.2", DIGEST)
    assert str(parsed) == f"localhost:5000/staging/a-1/x/y:v1.2@{DIGEST}"
    assert isinstance(parse_image_reference("docker.io/library/python"), str)  # no tag
    assert isinstance(parse_image_reference("library/python:3"), str)  # Docker Hub implied
    assert staging_owner("staging/alice/thermo") == "alice"
    assert staging_owner("staging/alice") is None
    assert staging_owner("alice/thermo") is None
    assert json.dumps(str(parsed))  # a plain string travels in the manifest
