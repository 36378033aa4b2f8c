"""Image signatures on the real registry, checked with Debian's tools and with the SDK's verifier.

A tiny image (FROM scratch, one file) is pushed to the shared registry (token auth) under a
repository of its own and signed by the builder's `sign_image` with a fresh platform key. Debian's
skopeo cannot evaluate a `sigstoreSigned` policy (its build has sigstore removed: "Debian-local
change: sigstore disabled"; docs/trust.md), so the standard-tools check does what `cosign verify
--key` does: `skopeo inspect` resolves the tag, `skopeo copy` fetches the `sha256-<hex>.sig`
artifact, `openssl dgst -verify` checks the ECDSA signature over the payload, and the payload must
name that digest and the exact `registry/repo:tag`. Then the registry is tampered with, as an
attacker with push rights would:

- the signed image *re-tagged* as another version: the signature names `...:1`, not `...:2`;
- a *modified* image (another file) pushed over the signed tag: no signature for its digest;

and both the standard tools and Modelbay's own verifier (`modelbay.image_signature`, what
`modelbay pull` runs) refuse each, while both accept the signed original.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest
from modelbay.errors import ApiError
from modelbay.image_signature import verify_image_signature_in_registry
from modelbay_builder.build_log import BuildLog
from modelbay_builder.image_signing import sign_image
from modelbay_builder.registry import RegistryCredentials, push_image
from modelbay_common.cosign_layout import SIGNATURE_ANNOTATION, signature_tag
from modelbay_common.registry_auth import PULL, PUSH, RegistryTokenIssuer, repository_access
from modelbay_common.signing import SigningKey, load_or_create_signing_key, public_key_pem

pytestmark = pytest.mark.slow

MANIFEST_ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"


def _scratch_image(client: docker.DockerClient, tag: str, content: str) -> None:
    """`FROM scratch` + one file: seconds to build and push, no base image involved."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in {
            "Dockerfile": b"FROM scratch\nCOPY hello.txt /hello.txt\n",
            "hello.txt": content.encode(),
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    client.images.build(fileobj=buffer, custom_context=True, tag=tag, rm=True)


def _token(tokens: RegistryTokenIssuer | None, repository: str) -> str | None:
    if tokens is None:
        return None
    return tokens.mint("signature-test", [repository_access(repository, PULL, PUSH)]).token


def _skopeo(*args: str, token: str | None) -> subprocess.CompletedProcess[str]:
    policy = '{"default": [{"type": "insecureAcceptAnything"}]}'
    with tempfile.NamedTemporaryFile("w", suffix=".json") as policy_file:
        policy_file.write(policy)
        policy_file.flush()
        command = ["skopeo", "--policy", policy_file.name, *args]
        if token:
            command[4:4] = (
                ["--src-registry-token", token]
                if args[0] == "copy"
                else [
                    "--registry-token",
                    token,
                ]
            )
        return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def _verify_with_standard_tools(
    registry: str,
    repository: str,
    tag: str,
    digest: str,
    public_pem: str,
    work: Path,
    token: str | None,
) -> bool:
    """What `cosign verify --key` does, with skopeo (fetch the `.sig` artifact) and openssl
    (check ECDSA-SHA256 over the payload); False when anything is missing or does not match."""
    signature_ref = f"docker://{registry}/{repository}:{signature_tag(digest)}"
    target = work / f"sig-{uuid.uuid4().hex[:8]}"
    fetched = _skopeo("copy", "--src-tls-verify=false", signature_ref, f"dir:{target}", token=token)
    if fetched.returncode != 0:
        return False
    manifest = json.loads((target / "manifest.json").read_text())
    (work / "platform.pub").write_text(public_pem)
    for layer in manifest["layers"]:
        payload_file = target / layer["digest"].removeprefix("sha256:")
        signature_file = work / "signature.der"
        signature_file.write_bytes(base64.b64decode(layer["annotations"][SIGNATURE_ANNOTATION]))
        checked = subprocess.run(
            [
                "openssl",
                "dgst",
                "-sha256",
                "-verify",
                str(work / "platform.pub"),
                "-signature",
                str(signature_file),
                str(payload_file),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        critical = json.loads(payload_file.read_bytes())["critical"]
        if (
            checked.returncode == 0
            and critical["image"]["docker-manifest-digest"] == digest
            and critical["identity"]["docker-reference"] == f"{registry}/{repository}:{tag}"
        ):
            return True
    return False


def _tag_digest(registry: str, repository: str, tag: str, token: str | None) -> str:
    """The digest the tag points at now, as skopeo resolves it."""
    inspected = _skopeo(
        "inspect",
        "--tls-verify=false",
        "--format",
        "{{.Digest}}",
        f"docker://{registry}/{repository}:{tag}",
        token=token,
    )
    assert inspected.returncode == 0, inspected.stderr
    return inspected.stdout.strip()


@pytest.fixture
def signed_repository(
    docker_client: docker.DockerClient,
    registry: str,
    registry_tokens: RegistryTokenIssuer | None,
    tmp_path: Path,
) -> Iterator[tuple[str, str, SigningKey]]:
    """`(owner/name, digest of :1, key)`: a signed image at `registry/owner/name:1`."""
    repository = f"sig-{uuid.uuid4().hex[:8]}/hello"
    image = f"{registry}/{repository}"
    _scratch_image(docker_client, f"{image}:1", "signed original\n")
    credentials = RegistryCredentials(registry_tokens)
    digest = push_image(docker_client, image, "1", BuildLog(), credentials)
    key = load_or_create_signing_key(tmp_path / "signing")
    owner, name = repository.split("/")
    sign_image(
        registry=registry,
        owner=owner,
        name=name,
        tag="1",
        digest=digest,
        key=key,
        credentials=credentials,
        insecure=True,
        creator="modelbay-builder test",
    )
    yield repository, digest, key
    for tag in ("1", "2"):
        if _exists(docker_client, f"{image}:{tag}"):
            docker_client.images.remove(f"{image}:{tag}", force=True)


def _exists(client: docker.DockerClient, reference: str) -> bool:
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def _retag_in_registry(
    registry: str, repository: str, source: str, target: str, token: str | None
) -> None:
    headers = {"Accept": MANIFEST_ACCEPT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    base = f"http://{registry}/v2/{repository}/manifests"
    manifest = httpx.get(f"{base}/{source}", headers=headers, timeout=30)
    manifest.raise_for_status()
    put_headers = {**headers, "Content-Type": manifest.headers["Content-Type"]}
    httpx.put(
        f"{base}/{target}", content=manifest.content, headers=put_headers, timeout=30
    ).raise_for_status()


def test_signed_image_verifies_and_tampering_is_refused(
    signed_repository: tuple[str, str, SigningKey],
    docker_client: docker.DockerClient,
    registry: str,
    registry_tokens: RegistryTokenIssuer | None,
    tmp_path: Path,
) -> None:
    repository, digest, key = signed_repository
    token = _token(registry_tokens, repository)
    pem = public_key_pem(key.public_key)

    # The signed original: skopeo + openssl and Modelbay's verifier accept it.
    assert _tag_digest(registry, repository, "1", token) == digest
    assert _verify_with_standard_tools(registry, repository, "1", digest, pem, tmp_path, token)
    verified = verify_image_signature_in_registry(
        registry, repository, "1", digest, trusted_pems=[pem], token=token
    )
    assert verified == key.key_id

    # Re-tagged: the signed manifest, now also under :2. Its signature names :1.
    _retag_in_registry(registry, repository, "1", "2", token)
    retagged_digest = _tag_digest(registry, repository, "2", token)
    assert retagged_digest == digest
    assert not _verify_with_standard_tools(
        registry, repository, "2", retagged_digest, pem, tmp_path, token
    )
    with pytest.raises(ApiError, match=r"names .*:1, not .*:2"):
        verify_image_signature_in_registry(
            registry, repository, "2", retagged_digest, trusted_pems=[pem], token=token
        )

    # Modified: another image pushed over the signed tag; nobody signed its digest.
    image = f"{registry}/{repository}"
    _scratch_image(docker_client, f"{image}:1", "tampered content\n")
    credentials = RegistryCredentials(registry_tokens)
    tampered = push_image(docker_client, image, "1", BuildLog(), credentials)
    assert tampered != digest
    assert _tag_digest(registry, repository, "1", token) == tampered
    assert not _verify_with_standard_tools(
        registry, repository, "1", tampered, pem, tmp_path, token
    )
    with pytest.raises(ApiError, match="not signed"):
        verify_image_signature_in_registry(
            registry, repository, "1", tampered, trusted_pems=[pem], token=token
        )

    # A key the platform does not publish verifies nothing, even for the original digest.
    stranger = public_key_pem(load_or_create_signing_key(tmp_path / "stranger").public_key)
    assert not _verify_with_standard_tools(
        registry, repository, "1", digest, stranger, tmp_path, token
    )
    with pytest.raises(ApiError, match="no trusted key"):
        verify_image_signature_in_registry(
            registry, repository, "1", digest, trusted_pems=[stranger], token=token
        )
