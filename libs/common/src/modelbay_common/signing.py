"""The platform's image-signing key and the two signed formats it produces.

One ECDSA P-256 key signs, in two standard envelopes that standard tools verify:

- **image signatures**, cosign's "simple signing" payload (`critical.identity.docker-reference`,
  `critical.image.docker-manifest-digest`, `critical.type` = "cosign container image
  signature"), signed with ECDSA-SHA256 (ASN.1 DER). containers/image (skopeo, podman,
  CRI-O) verifies these in a `sigstoreSigned` policy; cosign with `cosign verify --key`. Their
  registry layout is `cosign_layout.py`.
- **provenance**, an in-toto v1 statement in a DSSE envelope (`provenance.py` builds the
  statement), signed over DSSE's pre-authentication encoding with the same key.

Why ECDSA P-256 and not Ed25519: containers/image's sigstore verifier hashes with SHA-256 before
verifying (its `sigstoreHarcodedHashAlgorithm`), which Ed25519 keys do not accept; P-256 is what
cosign generates and what every verifier reads.

Keys live in one directory (`SIGNING_KEY_DIR`, a mounted secret or a folder under `var/`), never
in the database or the blob store:

    <dir>/signing.key            the current private key (PKCS#8 PEM, mode 0600; dir 0700)
    <dir>/public/<key id>.pem    every public key verifiers should trust (old ones too, during
                                 a rotation); the gateway serves these at GET /v1/keys

A key id is `sha256:` + the hex SHA-256 of the public key's DER SubjectPublicKeyInfo: anyone can
recompute it from the PEM, so a peer can check `/v1/keys` against itself.

Nothing here touches the disk at import time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, Field

PRIVATE_KEY_FILE = "signing.key"
PUBLIC_KEYS_DIR = "public"
SIMPLE_SIGNING_TYPE = "cosign container image signature"
DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"


class SignatureInvalid(ValueError):
    """A signature or payload that does not verify, or names another image."""


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def public_key_pem(public_key: ec.EllipticCurvePublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key_pem(pem: str | bytes) -> ec.EllipticCurvePublicKey:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SignatureInvalid(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise SignatureInvalid("only ECDSA P-256 public keys are accepted")
    return key


@dataclass(frozen=True)
class SigningKey:
    """The platform's private key and its id."""

    private_key: ec.EllipticCurvePrivateKey

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, data: bytes) -> bytes:
        """ECDSA-SHA256 over `data`, ASN.1 DER (what cosign and containers/image expect)."""
        return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))


def load_or_create_signing_key(directory: Path) -> SigningKey:
    """The key in `directory`; generated (with its public PEM) on first start."""
    path = directory / PRIVATE_KEY_FILE
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} is not an ECDSA private key")
        key = SigningKey(loaded)
    else:
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
        key = SigningKey(ec.generate_private_key(ec.SECP256R1()))
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Written under a temporary name and renamed: two builders starting together never read
        # half a key, and the loser of the race simply loads the winner's.
        temporary = directory / f".{PRIVATE_KEY_FILE}.{os.getpid()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
        try:
            os.link(temporary, path)
        except FileExistsError:
            temporary.unlink()
            return load_or_create_signing_key(directory)
        temporary.unlink()
    publish_public_key(directory, key.public_key)
    return key


def _public_key_file(directory: Path, public_key: ec.EllipticCurvePublicKey) -> Path:
    return directory / PUBLIC_KEYS_DIR / f"{key_id(public_key).removeprefix('sha256:')}.pem"


def publish_public_key(directory: Path, public_key: ec.EllipticCurvePublicKey) -> None:
    """Make sure `<dir>/public/` holds this key's PEM (served at /v1/keys)."""
    target = _public_key_file(directory, public_key)
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(public_key_pem(public_key))
    target.chmod(0o644)


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    public_key: ec.EllipticCurvePublicKey

    @property
    def pem(self) -> str:
        return public_key_pem(self.public_key)


def load_trusted_keys(directory: Path) -> list[TrustedKey]:
    """Every public key in `<dir>/public/` (the ones a verifier should trust), sorted by id."""
    folder = directory / PUBLIC_KEYS_DIR
    if not folder.is_dir():
        return []
    keys = [load_public_key_pem(path.read_bytes()) for path in sorted(folder.glob("*.pem"))]
    return sorted((TrustedKey(key_id(key), key) for key in keys), key=lambda k: k.key_id)


# ---- image signatures: cosign's simple signing payload ----


def simple_signing_payload(docker_reference: str, manifest_digest: str, creator: str) -> bytes:
    """The payload an image signature covers. `docker_reference` is `registry/owner/name:tag`:
    the tag is part of the signed identity, so a signed image of version 2 re-tagged as version
    3 fails an exact-identity check (containers/image's default `matchRepoDigestOrExact`)."""
    document = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": SIMPLE_SIGNING_TYPE,
        },
        "optional": {"creator": creator, "timestamp": int(time.time())},
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class SignedImage:
    docker_reference: str
    manifest_digest: str


def verify_image_signature(
    payload: bytes, signature_b64: str, keys: Iterable[TrustedKey]
) -> SignedImage:
    """Check `signature_b64` over `payload` with any of `keys`; what the payload names."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError as exc:
        raise SignatureInvalid("the signature is not base64") from exc
    if not any(_verifies(key, signature, payload) for key in keys):
        raise SignatureInvalid("no trusted key verifies the signature")
    try:
        critical = json.loads(payload)["critical"]
        if critical["type"] != SIMPLE_SIGNING_TYPE:
            raise SignatureInvalid(f"unexpected signature type {critical['type']!r}")
        return SignedImage(
            str(critical["identity"]["docker-reference"]),
            str(critical["image"]["docker-manifest-digest"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureInvalid(f"the signed payload is malformed: {exc}") from exc


def _verifies(key: TrustedKey, signature: bytes, data: bytes) -> bool:
    try:
        key.public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# ---- DSSE envelopes (provenance) ----


def dsse_pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what the signature actually covers."""
    type_bytes = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def dsse_sign(
    key: SigningKey, payload: bytes, payload_type: str = DSSE_PAYLOAD_TYPE
) -> dict[str, Any]:
    signature = key.sign(dsse_pae(payload_type, payload))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [{"keyid": key.key_id, "sig": base64.b64encode(signature).decode("ascii")}],
    }


def dsse_verify(envelope: Mapping[str, Any], keys: Iterable[TrustedKey]) -> bytes:
    """The envelope's payload when one of its signatures verifies with a trusted key."""
    try:
        payload_type = str(envelope["payloadType"])
        payload = base64.b64decode(str(envelope["payload"]), validate=True)
        signatures = [
            (str(entry.get("keyid", "")), base64.b64decode(str(entry["sig"]), validate=True))
            for entry in envelope["signatures"]
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SignatureInvalid(f"not a DSSE envelope: {exc}") from exc
    signed = dsse_pae(payload_type, payload)
    trusted = list(keys)
    for keyid, signature in signatures:
        candidates = [key for key in trusted if not keyid or key.key_id == keyid]
        if any(_verifies(key, signature, signed) for key in candidates):
            return payload
    raise SignatureInvalid("no trusted key verifies the envelope")


class SigningSettings(BaseModel):
    """Fields of a service that signs (the builder) or publishes the keys (the gateway): a mixin
    next to `ServiceSettings`, so `MODELBAY_SIGNING_KEY_DIR` configures both at once."""

    signing_key_dir: Path | None = Field(
        default=None,
        description="Directory of the image-signing key (`signing.key`, generated on first "
        "start) and the published public keys (`public/*.pem`, served at /v1/keys); unset = "
        "images are not signed. docs/trust.md",
    )

    def signing_key(self) -> SigningKey | None:
        """The key (created on first call), or None when signing is not configured."""
        if self.signing_key_dir is None:
            return None
        return load_or_create_signing_key(self.signing_key_dir)

    def trusted_keys(self) -> list[TrustedKey]:
        return [] if self.signing_key_dir is None else load_trusted_keys(self.signing_key_dir)
