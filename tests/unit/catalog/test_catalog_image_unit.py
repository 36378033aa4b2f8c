"""How the catalog shows a version's image: a pull line for registry images, none otherwise."""

from __future__ import annotations

import dataclasses

from modelbay_catalog.lifecycle import VersionState
from modelbay_catalog.schemas import image_of

DIGEST = "sha256:" + "d" * 64


def test_a_registry_image_gets_a_pull_line_and_a_pinned_one() -> None:
    state = dataclasses.replace(
        VersionState(version=1), image_ref="127.0.0.1:5000/alice/iris:1", image_digest=DIGEST
    )

    image = image_of(state)

    assert image is not None
    assert image.pull_command == "docker pull 127.0.0.1:5000/alice/iris:1"
    assert image.pinned_pull_command == f"docker pull 127.0.0.1:5000/alice/iris@{DIGEST}"


def test_a_model_served_as_a_local_process_has_nothing_to_pull() -> None:
    ref = "local-process://127.0.0.1:41234/alice/iris/1"
    state = dataclasses.replace(VersionState(version=1), image_ref=ref, image_digest=DIGEST)

    image = image_of(state)

    assert image is not None
    assert image.ref == ref
    assert image.pull_command is None
    assert image.pinned_pull_command is None


def test_no_image_yet_means_no_image_section() -> None:
    assert image_of(VersionState(version=1)) is None
