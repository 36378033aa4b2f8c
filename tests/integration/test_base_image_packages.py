"""Every Debian package the resolver assumes a base image has (`AptRepository.base_packages`
over the suite's real index, with the default `DEBIAN_BASE_PACKAGES`) is installed in the real
base image (`dpkg-query` in it): the 3.11 bookworm base of the running services and the 3.13
trixie base. A package assumed but absent would be left out of a model's system-package layer
and its `dpkg -i` would fail on the missing dependency (scripts/build-python-base-image.sh
purges what lies outside Essential + its package list, apt included)."""

from __future__ import annotations

import docker
import pytest
from docker.errors import ImageNotFound
from modelbay_onboarding.settings import OnboardingSettings
from modelbay_onboarding.system_libraries.apt_repository import AptRepository

TRIXIE_BASE = "modelbay/python:3.13-trixie"  # scripts/build-python-base-image.sh trixie 3.13


def _installed(client: docker.DockerClient, image: str) -> set[str]:
    listing = client.containers.run(
        image, ["dpkg-query", "-W", "-f", "${Package}\\n"], remove=True, network_disabled=True
    )
    return set(listing.decode().split())


@pytest.mark.parametrize(("suite", "which"), [("bookworm", "configured"), ("trixie", "trixie")])
async def test_the_resolver_assumes_only_packages_the_base_images_have(
    suite: str, which: str, base_image: str, docker_client: docker.DockerClient
) -> None:
    image = base_image if which == "configured" else TRIXIE_BASE
    try:
        docker_client.images.get(image)
    except ImageNotFound:
        pytest.fail(f"{image} is not built: run `make services-up` (it builds both bases)")
    settings = OnboardingSettings(
        database_url="postgresql://unused/unused", bus_url="memory://", blob_url="file:///unused"
    )
    repository = AptRepository(
        root=settings.debian_cache_root / suite,
        mirror=settings.debian_mirror,
        suite=suite,
        keyring=settings.debian_keyring,
        max_index_age_seconds=settings.debian_index_max_age_seconds,
    )
    await repository.ensure_index()
    assumed = await repository.base_packages(settings.debian_base_packages)
    installed = _installed(docker_client, image)
    assert {"dpkg", "python3", "tzdata"} <= assumed
    missing = sorted(assumed - installed)
    assert not missing, f"the resolver assumes {image} has {missing}; it does not"
