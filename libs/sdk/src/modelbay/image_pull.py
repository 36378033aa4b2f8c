"""Pulling a model image the way the catalog recorded it: by digest, logged in transparently.

The catalog records the manifest digest the builder pushed and validated. A tag in a registry
can be moved (re-pushed) by anyone who can write to it, so `modelbay pull`/`run`:

1. ask the platform for a short-lived pull token for `owner/name` (`GET /v1/registry/token`,
   the registry's realm; the user's API token authenticates the request);
2. look the version's tag up in the registry and refuse when it points at another manifest than
   the recorded one (someone re-tagged the image: say so, instead of quietly running either);
3. verify the platform's signature over that digest and `registry/owner/name:tag` with the keys
   at `GET /v1/keys` (`image_signature.py`; `--insecure-skip-verify` skips it, loudly);
4. `docker pull <registry>/<owner>/<name>@<digest>` (Docker verifies the content against the
   digest), tag it `<registry>/<owner>/<name>:<version>` locally, and run it by digest.

The token reaches the `docker` command line through a private, temporary `DOCKER_CONFIG`
(`auths.<registry>.registrytoken`, which the engine sends as the bearer token as is), so the
user's own Docker configuration is never written to and the token ends with the command.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from modelbay.client import ModelbayClient
from modelbay.errors import ApiError

MANIFEST_MEDIA_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


@dataclass(frozen=True)
class CatalogImage:
    """A version's image as the catalog recorded it: `registry/owner/name:tag` and its digest."""

    registry: str
    repository: str  # owner/name
    tag: str
    digest: str

    @classmethod
    def from_version(cls, detail: Mapping[str, Any]) -> CatalogImage:
        reference = str(detail.get("image_ref") or "")
        digest = str(detail.get("image_digest") or "")
        registry, slash, rest = reference.partition("/")
        repository, colon, tag = rest.rpartition(":")
        if not slash or not colon or not repository or not digest.startswith("sha256:"):
            raise ApiError(
                "no verifiable image",
                f"the catalog records {reference!r} with digest {digest!r}; "
                "a pull needs a registry image and its sha256 digest",
            )
        return cls(registry, repository, tag, digest)

    @property
    def reference(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"

    @property
    def pinned(self) -> str:
        """The exact image: `registry/owner/name@sha256:...`."""
        return f"{self.registry}/{self.repository}@{self.digest}"


def registry_base_url(registry: str) -> str:
    # Docker talks plain HTTP to loopback registries without configuration; so do we.
    host = registry.rsplit(":", 1)[0].strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return f"{'http' if loopback else 'https'}://{registry}"


def tag_digest(image: CatalogImage, token: str | None) -> str | None:
    """The digest the registry's tag points at now; None when the tag is gone."""
    url = f"{registry_base_url(image.registry)}/v2/{image.repository}/manifests/{image.tag}"
    headers = {"Accept": MANIFEST_MEDIA_TYPES}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = httpx.head(url, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise ApiError(f"cannot reach the registry {image.registry}", str(exc)) from exc
    if response.status_code == 404:
        return None
    if response.status_code in (401, 403):
        raise ApiError(
            "the registry refused the pull",
            f"{image.repository} is not visible to you, or your token is not accepted there",
            response.status_code,
        )
    if not response.is_success:
        raise ApiError("the registry failed", f"HTTP {response.status_code} for {url}")
    found = response.headers.get("Docker-Content-Digest")
    return str(found) if found else None


def check_tag(image: CatalogImage, found: str | None) -> None:
    """Refuse an image whose tag was moved away from the digest the platform built."""
    if found is not None and found != image.digest:
        raise ApiError(
            "the registry's image is not the one Modelbay built",
            f"{image.reference} now points at {found}, but the catalog recorded {image.digest} "
            "(the image was re-tagged or overwritten after it was validated). Refusing to pull "
            "it; tell the platform's operators.",
        )


def warn_unverified(image: CatalogImage) -> None:
    """--insecure-skip-verify: say loudly, on stderr, that nothing vouches for this image."""
    sys.stderr.write(
        f"WARNING: --insecure-skip-verify: NOT verifying the platform's signature of "
        f"{image.pinned}. Anyone who could write to the registry may have replaced what you are "
        "about to run. Only use this for a platform that does not sign images.\n"
    )
    sys.stderr.flush()


def _user_docker_config() -> dict[str, Any]:
    directory = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        loaded = json.loads((directory / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


@contextmanager
def docker_env_with_token(registry: str, token: str | None) -> Iterator[dict[str, str]]:
    """The environment for `docker` with `token` as the registry's credentials (if any)."""
    env = dict(os.environ)
    if token is None:
        yield env
        return
    config = _user_docker_config()
    config.pop("credsStore", None)  # a native store would answer for every registry
    config.get("credHelpers", {}).pop(registry, None)
    config["auths"] = {**config.get("auths", {}), registry: {"registrytoken": token}}
    with tempfile.TemporaryDirectory(prefix="modelbay-docker-") as directory:
        os.chmod(directory, 0o700)
        path = Path(directory) / "config.json"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        contexts = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "contexts"
        if contexts.is_dir():  # keep the user's `docker context` working
            (Path(directory) / "contexts").symlink_to(contexts)
        env["DOCKER_CONFIG"] = directory
        yield env


def _docker() -> str:
    found = shutil.which("docker")
    if found is None:
        raise ApiError(
            "docker not found",
            "install Docker, or download the image with GET .../versions/N/image and "
            "`docker load -i` it on a machine that has Docker",
        )
    return found


def pull_verified(
    client: ModelbayClient, detail: Mapping[str, Any], *, skip_verify: bool = False
) -> CatalogImage:
    """Pull a ready version's image by its recorded digest (see the module docstring), after
    checking the platform's signature over that digest (`image_signature.py`)."""
    image = CatalogImage.from_version(detail)
    token = client.registry_token(image.repository)
    check_tag(image, tag_digest(image, token))
    if skip_verify:
        warn_unverified(image)
    else:
        from modelbay.image_signature import verify_image_signature_in_registry

        verify_image_signature_in_registry(
            image.registry,
            image.repository,
            image.tag,
            image.digest,
            trusted_pems=client.signing_keys(),
            token=token,
        )
    docker = _docker()
    with docker_env_with_token(image.registry, token) as env:
        pulled = subprocess.run([docker, "pull", image.pinned], env=env, check=False)
    if pulled.returncode != 0:
        raise ApiError("docker pull failed", f"could not pull {image.pinned} (see above)")
    tagged = subprocess.run(
        [docker, "tag", image.pinned, image.reference], capture_output=True, text=True, check=False
    )
    if tagged.returncode != 0:
        raise ApiError("docker tag failed", tagged.stderr.strip())
    return image
