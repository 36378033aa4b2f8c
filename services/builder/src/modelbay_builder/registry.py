"""The OCI registry: pushing an image, and asking whether a tag is already there.

The look-up makes builds idempotent across crashes: versions are never reused, so a tag that
already exists was pushed (after validating) by an earlier attempt of this very build, and the
builder adopts it instead of pushing a second image with different content under the same name.

Behind token auth (docs/trust.md) the builder mints its own tokens with the platform's key
(`RegistryCredentials`): scoped to the one repository it works on, handed to the Docker engine as
`registrytoken` (no realm round trip, no gateway involved in a build). Without a key configured
the registry is assumed open and no credentials are sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker
import httpx
from docker.errors import DockerException
from modelbay_common.registry_auth import PULL, PUSH, RegistryTokenIssuer, repository_access

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


BUILDER_SUBJECT = "modelbay-builder"


@dataclass(frozen=True)
class RegistryCredentials:
    """Mints the builder's tokens, one repository and one operation at a time."""

    tokens: RegistryTokenIssuer | None
    # A push of a large image must not outlive its token (Docker sends it on every request).
    push_ttl_seconds: int = 3600

    def auth_config(self, repository_path: str, *actions: str) -> dict[str, str] | None:
        """The Docker engine's auth config for `owner/name`, or None for an open registry."""
        if self.tokens is None:
            return None
        minted = self.tokens.mint(
            BUILDER_SUBJECT,
            [repository_access(repository_path, *actions)],
            ttl_seconds=self.push_ttl_seconds,
        )
        return minted.docker_auth_config()

    def headers(self, repository_path: str) -> dict[str, str]:
        """HTTP headers for a manifest look-up (pull scope) of `owner/name`."""
        config = self.auth_config(repository_path, PULL)
        return {"Authorization": f"Bearer {config['registrytoken']}"} if config else {}


def repository_path(image_ref: str) -> str:
    """`127.0.0.1:5000/alice/iris:3` (or `...@sha256:...`) → `alice/iris`."""
    path = image_ref.split("@", 1)[0].partition("/")[2]  # drop the digest, then the host
    has_tag = ":" in path.rsplit("/", 1)[-1]
    return path.rsplit(":", 1)[0] if has_tag else path


def image_repository(registry: str, owner: str, name: str) -> str:
    return f"{registry}/{owner}/{name}"


def image_reference(registry: str, owner: str, name: str, version: int) -> str:
    return f"{image_repository(registry, owner, name)}:{version}"


def push_image(
    client: docker.DockerClient,
    repository: str,
    tag: str,
    log: BuildLog,
    credentials: RegistryCredentials,
) -> str:
    """Push `repository:tag`; return the manifest digest the registry reported."""
    digest = ""
    # Docker asks for pull too: it checks which layers the repository already has.
    auth_config = credentials.auth_config(repository_path(repository), PULL, PUSH)
    try:
        for line in client.api.push(
            repository, tag=tag, stream=True, decode=True, auth_config=auth_config
        ):
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


def pull_image(
    client: docker.DockerClient, reference: str, credentials: RegistryCredentials
) -> str:
    """Pull `reference` into the engine; the image id. DockerException when it cannot."""
    auth_config = credentials.auth_config(repository_path(reference), PULL)
    image = client.images.pull(reference, auth_config=auth_config)
    return str(image.id)


def registry_digest(
    registry: str,
    owner: str,
    name: str,
    tag: str,
    *,
    insecure: bool,
    credentials: RegistryCredentials,
) -> str | None:
    """The manifest digest of `owner/name:tag` in the registry, or None when it has no such tag."""
    scheme = "http" if insecure else "https"
    url = f"{scheme}://{registry}/v2/{owner}/{name}/manifests/{tag}"
    headers = {"Accept": MANIFEST_MEDIA_TYPES, **credentials.headers(f"{owner}/{name}")}
    try:
        response = httpx.head(url, headers=headers, timeout=10)
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
