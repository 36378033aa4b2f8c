"""What the local-process mode reports instead of an image: reference, digest, SBOM, no tarball.

- `image_ref`: `local-process://127.0.0.1:<port>/<owner>/<name>/<version>`; the model server
  answers at `http://127.0.0.1:<port>` (`served_url`). The scheme and its parsing are shared
  with the catalog and the gateway: `modelbay_common.refs`.
- `image_digest`: `sha256:` over the lock hash and the bundle's SHA-256, the two things a local
  server is made of (same lock + same bundle = same digest).
- SBOM: the Docker path's CycloneDX document with the served application as its subject.
- The image tarball download answers 409 `image-not-available`: there is no image.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from modelbay_common import refs
from modelbay_common.errors import Conflict
from modelbay_common.refs import served_url as served_url  # kept importable from here

from modelbay_builder.records import BuildRequest
from modelbay_builder.sbom import build_sbom

LOCAL_HOST = "127.0.0.1"  # a local model server is reachable from this machine only


def local_process_ref(port: int, owner: str, name: str, version: int) -> str:
    return refs.local_process_ref(LOCAL_HOST, port, owner, name, version)


def local_digest(lock_hash: str, bundle_sha256: str) -> str:
    """What a local-process server is made of: the lock (venv) and the bundle (the model)."""
    return "sha256:" + hashlib.sha256(f"{lock_hash}\n{bundle_sha256}".encode()).hexdigest()


def local_sbom(
    request: BuildRequest, digest: str, distributions: list[dict[str, str]], created: datetime
) -> dict[str, Any]:
    """The CycloneDX SBOM of the Docker path, with the served application (not an OCI image)
    as its subject."""
    document = build_sbom(
        repository=f"local-process/{request.owner}/{request.name}",
        version=request.version,
        digest=digest,
        distributions=distributions,
        created=created,
        tool_version=_builder_version(),
    )
    subject = document["metadata"]["component"]
    subject["type"] = "application"
    subject["name"] = f"{request.owner}/{request.name}"
    subject["description"] = "Modelbay model served as a local process from a venv"
    del subject["purl"]  # no purl type describes a venv on one machine
    return document


class LocalProcessImages(Conflict):
    """The image download of a version that runs as a local process: there is no image."""

    type_slug = "image-not-available"
    title = "Image not available"

    def __init__(self, image_ref: str) -> None:
        super().__init__(
            "This version was built without Docker: it runs as a local process "
            f"({image_ref}), so there is no image to download. Rebuild it on a platform "
            "with a Docker engine to get one.",
            extensions={"image_ref": image_ref},
        )


class LocalProcessExporter:
    """The builder API's image exporter in local-process mode: every download is a 409."""

    def prepare(self, image_ref: str) -> None:
        raise LocalProcessImages(image_ref)

    def export(self, image_ref: str) -> Any:
        raise LocalProcessImages(image_ref)


def _builder_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("modelbay-builder")
    except PackageNotFoundError:
        return "unknown"
