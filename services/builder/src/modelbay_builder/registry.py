"""The OCI registry: pushing an image, and asking whether a tag is already there.

The look-up makes builds idempotent across crashes: versions are never reused, so a tag that
already exists was pushed (after validating) by an earlier attempt of this very build, and the
builder adopts it instead of pushing a second image with different content under the same name.
"""

from __future__ import annotations

import docker
import httpx
from docker.errors import DockerException

from modelbay_builder.build_log import BuildLog
from modelbay_builder.errors import BuildStepFailed

MANIFEST_MEDIA_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


def image_repository(registry: str, owner: str, name: str) -> str:
    return f"{registry}/{owner}/{name}"


def image_reference(registry: str, owner: str, name: str, version: int) -> str:
    return f"{image_repository(registry, owner, name)}:{version}"


def push_image(client: docker.DockerClient, repository: str, tag: str, log: BuildLog) -> str:
    """Push `repository:tag`; return the manifest digest the registry reported."""
    digest = ""
    try:
        for line in client.api.push(repository, tag=tag, stream=True, decode=True):
            if "error" in line:
                message = str(line["error"]).strip()
                log.line(f"ERROR: push: {message}")
                raise BuildStepFailed(f"pushing {repository}:{tag} failed: {message}", log.tail(50))
            status = line.get("status")
            if status and not line.get("progressDetail"):
                log.line(f"push: {status} {line.get('id', '')}".rstrip())
            digest = (line.get("aux") or {}).get("Digest", digest)
    except DockerException as exc:
        raise BuildStepFailed(f"pushing {repository}:{tag} failed: {exc}", log.tail(50)) from exc
    if not digest:
        raise BuildStepFailed(f"the registry reported no digest for {repository}:{tag}")
    return str(digest)


def registry_digest(
    registry: str, owner: str, name: str, tag: str, *, insecure: bool
) -> str | None:
    """The manifest digest of `owner/name:tag` in the registry, or None when it has no such tag."""
    scheme = "http" if insecure else "https"
    url = f"{scheme}://{registry}/v2/{owner}/{name}/manifests/{tag}"
    try:
        response = httpx.head(url, headers={"Accept": MANIFEST_MEDIA_TYPES}, timeout=10)
    except httpx.HTTPError as exc:
        raise BuildStepFailed(f"the registry {registry} cannot be reached: {exc}") from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise BuildStepFailed(
            f"the registry answered HTTP {response.status_code} for {owner}/{name}:{tag}"
        )
    digest = response.headers.get("Docker-Content-Digest")
    return str(digest) if digest else None
