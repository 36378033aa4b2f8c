"""Where a pre-built image comes from (docs/prebuilt-images.md): the bundle's `docker save`
tarball, loaded into the engine, or a reference into the uploader's staging space of the
platform's registry (`image_reference` in the manifest; onboarding checked it is theirs and in
this registry), pulled with the builder's own pull token — by digest when the reference has one.
Either way a one-line `FROM <image id>` build (no network) adds the platform's labels and tag;
prebuilt.py then contract-tests it.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException

from modelbay_builder.build_log import BuildLog
from modelbay_builder.errors import BuildStepFailed
from modelbay_builder.registry import RegistryCredentials, pull_image

IMAGE_FILE = "image.tar"
IMAGE_REFERENCE = "image_reference"  # the manifest field of an image pushed by reference
# The image label `org.opencontainers.image.base.name` of a pushed image: it has no base we chose.
PREBUILT_BASE = "pushed image (docker save tarball)"


def pushed_reference(manifest: Mapping[str, Any]) -> str | None:
    """The registry reference of an image pushed by reference; None for a tarball."""
    reference = manifest.get(IMAGE_REFERENCE)
    return reference if isinstance(reference, str) and reference else None


def prebuilt_base(manifest: Mapping[str, Any]) -> str:
    """What the base-image label says of a pushed image: where it came from."""
    reference = pushed_reference(manifest)
    return f"pushed image ({reference})" if reference else PREBUILT_BASE


def pull_reference(reference: str) -> str:
    """What to pull: by digest alone when the reference has one (a tag could have moved since
    the upload; `repo:tag@digest` is not something the engine's pull accepts)."""
    name, _, digest = reference.partition("@")
    if digest:
        last = name.rsplit("/", 1)
        if ":" in last[-1]:
            name = name.rsplit(":", 1)[0]
        return f"{name}@{digest}"
    return reference


def source_image(
    client: docker.DockerClient,
    bundle_root: Path,
    manifest: Mapping[str, Any],
    credentials: RegistryCredentials,
    log: BuildLog,
) -> str:
    """The pushed image in the engine (loaded from the tarball or pulled); its image id."""
    reference = pushed_reference(manifest)
    if reference is None:
        return _load_tarball(client, bundle_root / IMAGE_FILE, log)
    wanted = pull_reference(reference)
    log.line(f"pulling the pushed image {wanted}")
    try:
        image_id = pull_image(client, wanted, credentials)
    except DockerException as exc:
        raise BuildStepFailed(f"the pushed image {reference} could not be pulled: {exc}") from exc
    log.line(f"pulled the pushed image {wanted} ({image_id})")
    return image_id


def _load_tarball(client: docker.DockerClient, image_tar: Path, log: BuildLog) -> str:
    try:
        with open(image_tar, "rb") as stream:
            loaded = client.images.load(stream.read())
    except (DockerException, OSError) as exc:
        raise BuildStepFailed(f"the image tarball could not be loaded: {exc}") from exc
    if len(loaded) != 1:
        raise BuildStepFailed(f"the tarball holds {len(loaded)} images; push exactly one")
    source_id = str(loaded[0].id)
    log.line(f"loaded the pushed image {source_id}")
    return source_id


def load_prebuilt(
    client: docker.DockerClient,
    bundle_root: Path,
    manifest: Mapping[str, Any],
    *,
    credentials: RegistryCredentials,
    tag: str,
    labels: Mapping[str, str],
    log: BuildLog,
    timeout: float,
) -> str:
    """Load or pull the pushed image, add the labels and tag with a `FROM` build; returns the
    labelled image's id."""
    source_id = source_image(client, bundle_root, manifest, credentials, log)
    dockerfile = f"FROM {source_id}\n".encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    try:
        image, _ = client.images.build(
            fileobj=context,
            custom_context=True,
            tag=tag,
            labels=dict(labels),
            network_mode="none",
            rm=True,
            timeout=timeout,
        )
    except DockerException as exc:
        raise BuildStepFailed(f"labelling the pushed image failed: {exc}") from exc
    return str(image.id)
