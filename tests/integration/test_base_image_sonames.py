"""Every library the resolver assumes a base image has (`BASE_IMAGE_SONAMES`) is in the real
base images, by their own dynamic loader's cache (`ldconfig -p`): the 3.11 base of the running
services and, when built, the 3.13 trixie base."""

from __future__ import annotations

import docker
import pytest
from docker.errors import ImageNotFound
from modelbay_onboarding.system_libraries.package_table import BASE_IMAGE_SONAMES

TRIXIE_BASE = "modelbay/python:3.13-trixie"  # scripts/build-python-base-image.sh trixie 3.13


def _sonames(client: docker.DockerClient, image: str) -> set[str]:
    output = client.containers.run(image, ["ldconfig", "-p"], remove=True, network_disabled=True)
    return {line.split()[0] for line in output.decode().splitlines()[1:] if line.strip()}


@pytest.mark.parametrize("which", ["configured", "trixie"])
def test_the_base_images_have_every_assumed_library(
    which: str, base_image: str, docker_client: docker.DockerClient
) -> None:
    image = base_image if which == "configured" else TRIXIE_BASE
    try:
        docker_client.images.get(image)
    except ImageNotFound:
        pytest.fail(f"{image} is not built: run `make services-up` (it builds both bases)")
    missing = BASE_IMAGE_SONAMES - _sonames(docker_client, image)
    assert not missing, f"{image} lacks {sorted(missing)}"
