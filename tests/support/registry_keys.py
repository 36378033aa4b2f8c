"""A registry token key pair for tests: the ECDSA P-256 private key the platform mints with and
the self-signed certificate a registry's `rootcertbundle` trusts (what
`scripts/services/registry.sh` makes with openssl for the shared registry)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from modelbay_common.registry_auth import RegistryTokenIssuer


@dataclass(frozen=True)
class RegistryKeys:
    key_file: Path
    cert_file: Path

    def issuer(
        self, *, issuer: str = "modelbay", service: str = "modelbay-registry"
    ) -> RegistryTokenIssuer:
        return RegistryTokenIssuer.from_key_file(self.key_file, issuer=issuer, service=service)


def make_registry_keys(directory: Path) -> RegistryKeys:
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "modelbay registry token (test)")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_file = directory / "registry-token.key"
    cert_file = directory / "registry-token.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return RegistryKeys(key_file, cert_file)
