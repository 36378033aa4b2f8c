"""A registry token key pair for tests: the ECDSA P-256 private key the platform mints with and
the self-signed certificate a registry's `rootcertbundle` trusts (the same
`modelbay_common.registry_auth.write_key_pair` operators use)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelbay_common.registry_auth import RegistryTokenIssuer, write_key_pair


@dataclass(frozen=True)
class RegistryKeys:
    key_file: Path
    cert_file: Path

    def issuer(
        self, *, issuer: str = "modelbay", service: str = "modelbay-registry"
    ) -> RegistryTokenIssuer:
        return RegistryTokenIssuer.from_key_file(self.key_file, issuer=issuer, service=service)


def make_registry_keys(directory: Path) -> RegistryKeys:
    return RegistryKeys(*write_key_pair(directory))
