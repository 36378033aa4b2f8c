"""Registry tokens: the Docker registry token specification, minted and verified in one place.

The OCI registry runs with `auth: token` (Distribution's `registry/auth/token`): every request
must carry `Authorization: Bearer <JWT>` signed by a key whose certificate is in the registry's
`rootcertbundle`, with `iss` = the configured issuer, `aud` = the configured service, a valid
`exp`/`nbf`, and an `access` claim listing `{type, name, actions}` that covers the request.

Who mints:

- the gateway (`GET /v1/registry/token`, the realm `docker login` is sent to) mints short-lived
  **pull** tokens for the models a user may see;
- the builder mints its own **push** tokens with the same key (no realm round trip, no gateway
  needed for a build) and hands them to the Docker engine as `registrytoken`.

How the registry finds the key (Distribution 2.8, `token.go` `VerifySigningKey`): the header's
`x5c` chain, else a `jwk`, else `kid` looked up among the root certificates' keys by their
*libtrust fingerprint*. We send `kid`, which keeps tokens short; `libtrust_key_id` computes it.
Keys are ECDSA P-256 (`ES256`): small, and libtrust verifies them natively.

Nothing here touches the network or the disk at import time.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from pydantic import BaseModel, Field

ALGORITHM = "ES256"
DEFAULT_ISSUER = "modelbay"
DEFAULT_SERVICE = "modelbay-registry"
DEFAULT_TTL_SECONDS = 300
KEY_FILE_NAME = "registry-token.key"
CERT_FILE_NAME = "registry-token.crt"
CERT_VALIDITY_DAYS = 3650
# Distribution accepts tokens up to 60 s before `nbf`; backdating covers small clock skew.
NOT_BEFORE_SKEW_SECONDS = 10
_P256_COORDINATE_BYTES = 32

REPOSITORY = "repository"
PULL, PUSH, DELETE = "pull", "push", "delete"
# A repository name as Distribution's reference grammar has it (lower-case path components).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_REPOSITORY_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_RESOURCE_TYPE = re.compile(r"^[a-z0-9]+(?:\([a-z0-9]+\))?$")
_ACTION = re.compile(r"^(?:[a-z]+|\*)$")


class InvalidScope(ValueError):
    """A `scope` parameter that does not follow `type:name:action[,action]`."""


class InvalidRegistryToken(ValueError):
    """A token that is malformed, badly signed, expired or meant for someone else."""


@dataclass(frozen=True)
class Access:
    """One entry of a token's `access` claim (and of a requested scope)."""

    type: str
    name: str
    actions: tuple[str, ...]

    def claim(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}

    def scope(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def repository_access(repository: str, *actions: str) -> Access:
    return Access(REPOSITORY, repository, tuple(actions))


def parse_scope(scope: str) -> Access:
    """`repository:alice/iris:pull,push` → Access. The name may contain `:` only as a
    registry host's port (`repository:host:5000/x:pull`), so the type is before the first colon
    and the actions after the last one (the token spec's grammar)."""
    resource_type, _, rest = scope.partition(":")
    name, _, actions_text = rest.rpartition(":")
    if not _RESOURCE_TYPE.match(resource_type) or not name or not actions_text:
        raise InvalidScope(f"scope {scope!r} is not type:name:actions")
    actions = tuple(dict.fromkeys(action for action in actions_text.split(",") if action))
    if not actions or not all(_ACTION.match(action) for action in actions):
        raise InvalidScope(f"scope {scope!r} has no valid actions")
    if resource_type == REPOSITORY and not _REPOSITORY_NAME.match(name):
        raise InvalidScope(f"scope {scope!r} names no valid repository")
    return Access(resource_type, name, actions)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def libtrust_key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key id Distribution's libtrust gives a public key (`keyIDFromCryptoKey`): the first
    240 bits of SHA-256 over the DER SubjectPublicKeyInfo, base32, in 12 groups of 4 joined by
    `:` (e.g. `ABCD:EFGH:...`)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(encoded[start : start + 4] for start in range(0, len(encoded), 4))


def _raw_signature(der_signature: bytes) -> bytes:
    # JWS ES256 wants r || s (32 bytes each); `cryptography` produces a DER sequence.
    r, s = decode_dss_signature(der_signature)
    return r.to_bytes(_P256_COORDINATE_BYTES, "big") + s.to_bytes(_P256_COORDINATE_BYTES, "big")


@dataclass(frozen=True)
class RegistryTokenIssuer:
    """Mints tokens the registry accepts: one private key, the registry's issuer and service."""

    private_key: ec.EllipticCurvePrivateKey
    issuer: str = DEFAULT_ISSUER
    service: str = DEFAULT_SERVICE
    ttl_seconds: int = DEFAULT_TTL_SECONDS
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.private_key.curve, ec.SECP256R1):
            raise ValueError("registry token keys must be ECDSA P-256 (ES256)")
        object.__setattr__(self, "key_id", libtrust_key_id(self.private_key.public_key()))

    @classmethod
    def from_key_file(
        cls,
        path: Path,
        *,
        issuer: str = DEFAULT_ISSUER,
        service: str = DEFAULT_SERVICE,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> RegistryTokenIssuer:
        """Load a PEM private key (what `scripts/services/registry.sh` generates)."""
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} is not an ECDSA private key")
        return cls(key, issuer=issuer, service=service, ttl_seconds=ttl_seconds)

    def mint(
        self,
        subject: str,
        access: Iterable[Access],
        *,
        ttl_seconds: int | None = None,
        now: float | None = None,
    ) -> RegistryToken:
        """A signed token granting `access` to `subject`; `ttl_seconds` overrides the default
        lifetime (the builder's push may outlast a user's five minutes)."""
        issued = int(time.time() if now is None else now)
        lifetime = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,  # Distribution 2.8 reads `aud` as one string, not a list
            "exp": issued + lifetime,
            "nbf": issued - NOT_BEFORE_SKEW_SECONDS,
            "iat": issued,
            "jti": secrets.token_urlsafe(16),
            "access": [item.claim() for item in access],
        }
        header = {"typ": "JWT", "alg": ALGORITHM, "kid": self.key_id}
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        return RegistryToken(
            token=f"{signing_input}.{_b64url(_raw_signature(signature))}",
            issued_at=issued,
            expires_in=lifetime,
        )


@dataclass(frozen=True)
class RegistryToken:
    token: str
    issued_at: int
    expires_in: int

    def docker_auth_config(self) -> dict[str, str]:
        """The Docker engine's auth config that sends this token as is (no realm round trip)."""
        return {"registrytoken": self.token}


def verify_registry_token(
    token: str,
    public_key: ec.EllipticCurvePublicKey,
    *,
    issuer: str = DEFAULT_ISSUER,
    service: str = DEFAULT_SERVICE,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of a token, after the checks the registry makes (kid, signature, iss, aud,
    exp, nbf); InvalidRegistryToken otherwise. Tests and tools use it; the registry has its own."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidRegistryToken("a token has three dot-separated parts")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        raw_signature = _b64url_decode(parts[2])
    except ValueError as exc:
        raise InvalidRegistryToken(f"the token does not decode: {exc}") from exc
    if header.get("alg") != ALGORITHM or header.get("kid") != libtrust_key_id(public_key):
        raise InvalidRegistryToken("the token is not signed with this key")
    if len(raw_signature) != 2 * _P256_COORDINATE_BYTES:
        raise InvalidRegistryToken("the signature has the wrong length")
    r = int.from_bytes(raw_signature[:_P256_COORDINATE_BYTES], "big")
    s = int.from_bytes(raw_signature[_P256_COORDINATE_BYTES:], "big")
    try:
        public_key.verify(
            encode_dss_signature(r, s),
            f"{parts[0]}.{parts[1]}".encode(),
            ec.ECDSA(hashes.SHA256()),
        )
    except InvalidSignature as exc:
        raise InvalidRegistryToken("the signature does not match") from exc
    current = time.time() if now is None else now
    if claims.get("iss") != issuer or claims.get("aud") != service:
        raise InvalidRegistryToken("the token is meant for another issuer or service")
    if not claims.get("nbf", 0) <= current <= claims.get("exp", 0):
        raise InvalidRegistryToken("the token is expired or not valid yet")
    return dict(claims)


def granted_actions(claims: dict[str, Any], repository: str) -> set[str]:
    """The actions a verified token's claims grant on one repository."""
    return {
        str(action)
        for item in claims.get("access") or []
        if item.get("type") == REPOSITORY and item.get("name") == repository
        for action in item.get("actions") or []
    }


def load_certificate_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """The public key of a PEM certificate (the registry's `rootcertbundle`)."""
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError(f"{path} does not hold an ECDSA certificate")
    return key


class RegistryTokenSettings(BaseModel):
    """Fields a service that mints registry tokens adds to its settings (a mixin next to
    `ServiceSettings`), so `MODELBAY_REGISTRY_TOKEN_KEY_FILE` configures every minter at once."""

    registry_token_key_file: Path | None = Field(
        default=None,
        description="PEM ECDSA P-256 key that signs registry tokens; unset = an open registry",
    )
    registry_token_issuer: str = Field(
        default=DEFAULT_ISSUER, description="`iss` of the tokens; the registry's auth.token.issuer"
    )
    registry_token_service: str = Field(
        default=DEFAULT_SERVICE,
        description="`aud` of the tokens; the registry's auth.token.service",
    )
    registry_token_ttl_seconds: int = Field(
        default=DEFAULT_TTL_SECONDS, ge=30, le=3600, description="lifetime of a minted token"
    )

    def registry_tokens(self) -> RegistryTokenIssuer | None:
        """The issuer, or None when no key is configured (an open registry, e.g. a laptop)."""
        if self.registry_token_key_file is None:
            return None
        return RegistryTokenIssuer.from_key_file(
            self.registry_token_key_file,
            issuer=self.registry_token_issuer,
            service=self.registry_token_service,
            ttl_seconds=self.registry_token_ttl_seconds,
        )


def requested_scopes(scopes: Sequence[str]) -> list[Access]:
    """Every `scope` query parameter parsed (a client may send several, or one separated by
    spaces as OAuth2 allows)."""
    return [parse_scope(part) for scope in scopes for part in scope.split() if part]


def write_key_pair(
    directory: Path, *, validity_days: int = CERT_VALIDITY_DAYS
) -> tuple[Path, Path]:
    """A new ES256 key (`registry-token.key`, 0600) and its self-signed certificate for the
    registry's `rootcertbundle` (`registry-token.crt`) in `directory`, unless both exist (then
    they are kept: generating is idempotent, rotating is deliberate, see docs/trust.md)."""
    directory.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = directory / KEY_FILE_NAME, directory / CERT_FILE_NAME
    if key_file.is_file() and cert_file.is_file():
        return key_file, cert_file
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "modelbay registry token signer")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=validity_days))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    partial = key_file.with_suffix(".tmp")
    partial.touch(mode=0o600)
    partial.write_bytes(pem)
    partial.replace(key_file)
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m modelbay_common.registry_auth generate DIR`: the key pair, if DIR has none."""
    parser = argparse.ArgumentParser(prog="python -m modelbay_common.registry_auth")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write the key pair into DIR unless present")
    generate.add_argument("directory", type=Path)
    arguments = parser.parse_args(argv)
    key_file, cert_file = write_key_pair(arguments.directory)
    print(f"registry token key: {key_file}\nregistry root certificate: {cert_file}")


if __name__ == "__main__":
    main()
