"""Checking an image's platform signature before anything is pulled or run.

The builder signs every image it pushes (docs/trust.md, "Signatures"): a cosign simple-signing
payload naming `registry/owner/name:version` and the manifest digest, signed with the platform's
ECDSA P-256 key, stored under the registry tag `sha256-<hex>.sig`. This module is the client's
own verifier (the SDK depends on no platform library), so it reads that layout itself:

1. fetch the signature manifest for the digest the catalog recorded (none → refuse);
2. fetch each simple-signing payload and check its SHA-256 against the layer digest;
3. verify the signature with one of the keys the platform publishes at `GET /v1/keys`;
4. check the payload names exactly that digest and that `registry/owner/name:tag`.

Only then does `modelbay pull` ask Docker for the image, by that digest.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelbay.errors import ApiError
from modelbay.image_pull import registry_base_url

SIMPLE_SIGNING_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIMPLE_SIGNING_TYPE = "cosign container image signature"
_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _key_id(key: ec.EllipticCurvePublicKey) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _load_keys(pems: Iterable[str]) -> list[ec.EllipticCurvePublicKey]:
    keys = []
    for pem in pems:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
        if isinstance(key, ec.EllipticCurvePublicKey):
            keys.append(key)
    return keys


def _get(url: str, token: str | None, accept: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept:
        headers["Accept"] = accept
    try:
        return httpx.get(url, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise ApiError("cannot reach the registry", str(exc)) from exc


def verify_image_signature_in_registry(
    registry: str,
    repository: str,
    tag: str,
    digest: str,
    *,
    trusted_pems: Iterable[str],
    token: str | None,
) -> str:
    """The id of the platform key that signed `registry/repository:tag` → `digest`; ApiError
    naming the reason otherwise (no signature, an untrusted key, another image or tag)."""
    keys = _load_keys(trusted_pems)
    if not keys:
        raise ApiError(
            "no platform signing key",
            "the platform publishes no image-signing key at /v1/keys, so nothing can be "
            "verified (use --insecure-skip-verify only if you accept an unverified image)",
        )
    algorithm, _, hex_digest = digest.partition(":")
    base = f"{registry_base_url(registry)}/v2/{repository}"
    response = _get(f"{base}/manifests/sha256-{hex_digest}.sig", token, _OCI_MANIFEST)
    if response.status_code == 404 or algorithm != "sha256":
        raise ApiError(
            "the image is not signed",
            f"there is no signature for {registry}/{repository}@{digest}: the image was not "
            "signed by the platform, or was replaced after it was signed. Refusing it.",
        )
    if not response.is_success:
        raise ApiError("the registry failed", f"HTTP {response.status_code} for the signature")
    expected_identity = f"{registry}/{repository}:{tag}"
    reasons: list[str] = []
    for layer in _signature_layers(response.json()):
        payload = _get(f"{base}/blobs/{layer['digest']}", token).content
        if "sha256:" + hashlib.sha256(payload).hexdigest() != layer["digest"]:
            reasons.append("a signature payload does not match its digest")
            continue
        signer = _signer(keys, payload, layer["signature"])
        if signer is None:
            reasons.append("no trusted key verifies the signature")
            continue
        identity, signed_digest = _signed_claims(payload)
        if signed_digest != digest:
            reasons.append(f"the signature is for {signed_digest}, not {digest}")
        elif identity != expected_identity:
            reasons.append(f"the signature names {identity}, not {expected_identity}")
        else:
            return signer
    raise ApiError(
        "the image's signature does not verify",
        f"{registry}/{repository}@{digest}: {'; '.join(reasons) or 'no signature'}. Refusing it.",
    )


def _signature_layers(manifest: Any) -> list[dict[str, str]]:
    layers = manifest.get("layers") if isinstance(manifest, dict) else None
    found = []
    for layer in layers or []:
        if not isinstance(layer, dict) or layer.get("mediaType") != SIMPLE_SIGNING_LAYER:
            continue
        signature = (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
        if isinstance(signature, str) and isinstance(layer.get("digest"), str):
            found.append({"digest": layer["digest"], "signature": signature})
    return found


def _signer(keys: list[ec.EllipticCurvePublicKey], payload: bytes, signature: str) -> str | None:
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError:
        return None
    for key in keys:
        try:
            key.verify(raw, payload, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        return _key_id(key)
    return None


def _signed_claims(payload: bytes) -> tuple[str, str]:
    try:
        critical = json.loads(payload)["critical"]
        if critical["type"] != SIMPLE_SIGNING_TYPE:
            return "", ""
        return str(critical["identity"]["docker-reference"]), str(
            critical["image"]["docker-manifest-digest"]
        )
    except (ValueError, KeyError, TypeError):
        return "", ""
