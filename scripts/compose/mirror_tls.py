"""A private CA and a server certificate for the compose stack's package mirror.

pip refuses a plain-HTTP index on any host but loopback, and the resolver's pip has no
`--trusted-host` (an index is trusted through TLS or not at all). So the mirror serves HTTPS with
a certificate for `pypi-mirror` signed by a CA made here, and the onboarding service trusts that
CA through its `PIP_CERT` setting: the same arrangement as a company mirror behind an internal CA.

Files (PEM) in the directory given: `ca.pem` (what clients trust), `server.pem` + `server.key`
(what the mirror serves). Made once; kept while the CA still signs a valid certificate. The key
is world-readable because the mirror runs as an unprivileged user from a bind mount: it protects
nothing but a throw-away index on one machine.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVER_NAMES = ("pypi-mirror", "localhost")
VALIDITY = datetime.timedelta(days=825)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_mirror_tls(directory: Path) -> Path:
    """Make the CA and server certificate unless a valid pair is there; returns ca.pem."""
    ca_path, cert_path, key_path = (directory / n for n in ("ca.pem", "server.pem", "server.key"))
    now = datetime.datetime.now(datetime.UTC)
    if ca_path.exists() and cert_path.exists() and key_path.exists():
        existing = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if existing.not_valid_after_utc > now + datetime.timedelta(days=1):
            return ca_path
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Modelbay compose mirror CA"))
        .issuer_name(_name("Modelbay compose mirror CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    alternative_names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
    alternative_names.append(x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")))
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(SERVER_NAMES[0]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_path.write_bytes(_pem_key(server_key))
    cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    for path in (ca_path, cert_path, key_path):
        path.chmod(0o644)
    directory.chmod(0o755)
    return ca_path
