"""Where an image's signature lives in the registry: cosign's tag layout.

We use the **`sha256-<hex>.sig` tag** (cosign's original layout) rather than the OCI referrers
API: Debian's Distribution 2.8 has no referrers endpoint, and containers/image (skopeo) reads
exactly this layout when a registries.d entry says `use-sigstore-attachments: true`.

The tag `<repository>:sha256-<hex of the image's manifest digest>.sig` holds an OCI image
manifest whose layers are simple-signing payloads (`application/vnd.dev.cosign.simplesigning.
v1+json`), each with its base64 signature in the `dev.cosignproject.cosign/signature`
annotation. Several layers = several signatures (a rotation re-signs by adding one).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
SIMPLE_SIGNING_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"


def signature_tag(manifest_digest: str) -> str:
    """`sha256:abc...` → `sha256-abc....sig`."""
    algorithm, _, hex_digest = manifest_digest.partition(":")
    if algorithm != "sha256" or len(hex_digest) != 64:
        raise ValueError(f"{manifest_digest!r} is not a sha256 manifest digest")
    return f"sha256-{hex_digest}.sig"


def blob_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SignatureArtifact:
    """The blobs and the manifest to push under the signature tag."""

    blobs: dict[str, bytes]  # digest → content
    manifest: bytes


def signature_artifact(signatures: list[tuple[bytes, str]]) -> SignatureArtifact:
    """`[(payload, base64 signature), ...]` → blobs + OCI manifest, as cosign writes them."""
    layers: list[dict[str, Any]] = []
    blobs: dict[str, bytes] = {}
    for payload, signature_b64 in signatures:
        digest = blob_digest(payload)
        blobs[digest] = payload
        layers.append(
            {
                "mediaType": SIMPLE_SIGNING_LAYER,
                "size": len(payload),
                "digest": digest,
                "annotations": {SIGNATURE_ANNOTATION: signature_b64},
            }
        )
    config = json.dumps(
        {
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        },
        separators=(",", ":"),
    ).encode()
    config_digest = blob_digest(config)
    blobs[config_digest] = config
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": config_digest},
        "layers": layers,
    }
    return SignatureArtifact(blobs, json.dumps(manifest, separators=(",", ":")).encode())


def signature_layers(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """`[(payload blob digest, base64 signature), ...]` of a signature manifest."""
    found: list[tuple[str, str]] = []
    for layer in manifest.get("layers") or []:
        if not isinstance(layer, dict) or layer.get("mediaType") != SIMPLE_SIGNING_LAYER:
            continue
        signature = (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
        if isinstance(signature, str) and isinstance(layer.get("digest"), str):
            found.append((layer["digest"], signature))
    return found
