"""Tiny one-layer images pushed straight through the Distribution API (no Docker engine), for
tests that need real manifests in a private token registry (the artifact GC tests)."""

from __future__ import annotations

import hashlib
import json

import httpx
from modelbay_common.registry_auth import PULL, PUSH, RegistryTokenIssuer, repository_access

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def blob_digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def push_tiny_image(
    registry: str, tokens: RegistryTokenIssuer, repository: str, tag: str, layer: bytes
) -> str:
    """A one-layer image `repository:tag`; its manifest digest."""
    token = tokens.mint("test", [repository_access(repository, PULL, PUSH)]).token
    config = json.dumps({"architecture": "amd64", "os": "linux", "tag": tag}).encode()
    base = f"http://{registry}/v2/{repository}"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for blob in (layer, config):
            started = client.post(f"{base}/blobs/uploads/")
            assert started.status_code == 202, started.text
            location = started.headers["Location"]
            if location.startswith("/"):
                location = f"http://{registry}{location}"
            sep = "&" if "?" in location else "?"
            done = client.put(
                f"{location}{sep}digest={blob_digest(blob)}",
                content=blob,
                headers={"Content-Type": "application/octet-stream"},
            )
            assert done.status_code == 201, done.text
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": blob_digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": blob_digest(layer),
                    "size": len(layer),
                }
            ],
        }
        put = client.put(
            f"{base}/manifests/{tag}",
            content=json.dumps(manifest).encode(),
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert put.status_code == 201, put.text
        return str(put.headers["Docker-Content-Digest"])


def manifest_status(registry: str, tokens: RegistryTokenIssuer, repository: str, ref: str) -> int:
    """The registry's HTTP status for `repository@ref` (200 present, 404 deleted)."""
    token = tokens.mint("test", [repository_access(repository, PULL)]).token
    headers = {"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}
    url = f"http://{registry}/v2/{repository}/manifests/{ref}"
    return httpx.get(url, headers=headers, timeout=30).status_code
