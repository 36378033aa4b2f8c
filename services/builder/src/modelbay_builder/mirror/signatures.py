"""The origin's image signature, checked against the keys pinned for the peer, and ours added.

Verification (before anything is stored): the origin's `sha256-<hex>.sig` manifest
(`modelbay_common.cosign_layout`) must hold a simple-signing payload whose bytes match its
layer digest, whose signature verifies with one of the PEM keys the catalog pinned for the peer
(`MirrorRequested.trusted_keys`, fetched from the origin's `/v1/keys` when the peer was
registered, never from the origin during a mirror), and which names exactly the digest being
mirrored and `origin_registry/origin_owner/origin_name:origin_version`. An image re-tagged on the
origin (a signed v1 put under tag 2) fails the identity; a modified one fails the digest.

Re-signing: the copy's `.sig` tag on this instance holds the origin's verified layer and a layer
signed with this instance's key naming `<our registry>/<owner>/<name>:<version>` (the local
coordinates), so `modelbay pull` on this instance verifies with this instance's `/v1/keys` exactly
as for a local build, and a tool that trusts the origin's key still finds the origin's signature.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass

from modelbay_common.cosign_layout import (
    OCI_MANIFEST,
    SignatureArtifact,
    signature_artifact,
    signature_layers,
    signature_tag,
)
from modelbay_common.signing import (
    SignatureInvalid,
    SigningKey,
    TrustedKey,
    key_id,
    load_public_key_pem,
    simple_signing_payload,
    verify_image_signature,
)

from modelbay_builder.mirror.errors import refused
from modelbay_builder.mirror.oci import Manifest, Repository

MAX_PAYLOAD_BYTES = 64 * 1024
CREATOR = "modelbay-builder (mirror)"


@dataclass(frozen=True)
class VerifiedSignature:
    key_id: str  # the pinned origin key that verified it
    payload: bytes
    signature_b64: str


def pinned_keys(pems: Iterable[str], peer: str) -> list[TrustedKey]:
    """The event's PEM keys as trusted keys; none, or one that does not parse, is a refusal."""
    keys: list[TrustedKey] = []
    for pem in pems:
        try:
            public_key = load_public_key_pem(pem)
        except SignatureInvalid as exc:
            raise refused(f"A key pinned for peer {peer!r} is not usable: {exc}.") from exc
        keys.append(TrustedKey(key_id(public_key), public_key))
    if not keys:
        raise refused(
            f"No signing key is pinned for peer {peer!r}, so its images cannot be verified "
            "(refresh the peer's keys)."
        )
    return keys


async def verify_origin_signature(
    origin: Repository, digest: str, identity: str, keys: list[TrustedKey]
) -> VerifiedSignature:
    """The first signature of `digest` that a pinned key verifies and that names `identity`."""
    found = await origin.manifest(signature_tag(digest))
    if found is None:
        raise refused(
            f"The origin has no signature for {digest}: the image was not signed by the origin "
            "platform, or was replaced after it was signed."
        )
    try:
        layers = signature_layers(json.loads(found.content))
    except (ValueError, AttributeError) as exc:
        raise refused(f"The origin's signature manifest for {digest} is not JSON.") from exc
    reasons: list[str] = []
    for payload_digest, signature_b64 in layers:
        payload = await origin.blob_bytes(payload_digest, MAX_PAYLOAD_BYTES)
        for key in keys:
            try:
                signed = verify_image_signature(payload, signature_b64, [key])
            except SignatureInvalid:
                continue
            if signed.manifest_digest != digest:
                reasons.append(f"a signature is for {signed.manifest_digest}")
            elif signed.docker_reference != identity:
                reasons.append(f"a signature names {signed.docker_reference}")
            else:
                return VerifiedSignature(key.key_id, payload, signature_b64)
            break
        else:
            reasons.append("no pinned key verifies a signature")
    raise refused(
        f"The origin's signature of {identity}@{digest} did not verify "
        f"({'; '.join(reasons) or 'the signature manifest has no layers'})."
    )


def countersigned(
    origin: VerifiedSignature, own_key: SigningKey | None, own_identity: str, digest: str
) -> SignatureArtifact:
    """The `.sig` artifact for this instance: the origin's signature, plus ours when we sign."""
    signatures = [(origin.payload, origin.signature_b64)]
    if own_key is not None:
        payload = simple_signing_payload(own_identity, digest, CREATOR)
        signatures.append((payload, base64.b64encode(own_key.sign(payload)).decode("ascii")))
    return signature_artifact(signatures)


async def push_signature(target: Repository, digest: str, artifact: SignatureArtifact) -> str:
    """Upload the signature's blobs and its manifest under `sha256-<hex>.sig`; the tag."""
    for blob_digest, content in artifact.blobs.items():
        if not await target.has_blob(blob_digest):
            await target.upload_blob(blob_digest, len(content), content)
    tag = signature_tag(digest)
    await target.put_manifest(tag, Manifest(artifact.manifest, OCI_MANIFEST))
    return tag
