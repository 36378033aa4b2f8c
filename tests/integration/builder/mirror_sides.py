"""Both sides of a mirror in the builder's integration tests (test_builder_mirror.py): each a
private token registry with its keys and a signing key; how the origin pushes and signs an image,
what a `MirrorRequested` for it looks like, and how a test sees what reached this instance."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from mirror_origin import OriginGateway, push_small_image
from modelbay_builder.image_signing import sign_image
from modelbay_builder.mirror.copy import artifact_key
from modelbay_builder.mirror.origin import PeerCredentials
from modelbay_builder.registry import RegistryCredentials
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob import BlobStore
from modelbay_common.events import MirroredArtifact, MirrorRequested
from modelbay_common.registry_auth import PULL, repository_access
from modelbay_common.signing import (
    SigningKey,
    dsse_sign,
    load_or_create_signing_key,
    public_key_pem,
)
from registry_keys import RegistryKeys, make_registry_keys
from token_registry import TokenRegistry, running_token_registry

PEER_TOKEN = "peer-token-issued-by-a"
UNUSED_REALM = "http://127.0.0.1:9/v1/registry/token"  # tokens are minted directly here


@dataclass(frozen=True)
class Side:
    registry: TokenRegistry
    keys: RegistryKeys
    signing: SigningKey


def running_side(root: Path, name: str) -> Iterator[Side]:
    """A registry with its token keys and a signing key: one instance's side of a mirror."""
    keys = make_registry_keys(root / f"{name}-registry-keys")
    signing = load_or_create_signing_key(root / f"{name}-signing")
    with running_token_registry(root / f"{name}-registry", UNUSED_REALM, keys) as registry:
        yield Side(registry, keys, signing)


class StaticPeer:
    """This instance's catalog answers the credentials route in the e2e test; here the peer's
    URL and token are given directly."""

    def __init__(self, url: str) -> None:
        self._url = url

    async def credentials(self, peer: str) -> PeerCredentials:
        return PeerCredentials(self._url, PEER_TOKEN)


def signed_image(origin: Side, repository: str, tag: str, text: str, key: SigningKey) -> str:
    owner, name = repository.split("/")
    digest = push_small_image(origin.registry.address, repository, tag, origin.keys.issuer(), text)
    sign_image(
        registry=origin.registry.address,
        owner=owner,
        name=name,
        tag=tag,
        digest=digest,
        key=key,
        credentials=RegistryCredentials(origin.keys.issuer()),
        insecure=True,
        creator="test origin",
    )
    return digest


def mirror_request(
    origin: Side, gateway: OriginGateway, repository: str, version: int, digest: str, **extra: Any
) -> MirrorRequested:
    owner, name = repository.split("/")
    fields: dict[str, Any] = {
        "owner": f"mirror-{owner}",
        "name": name,
        "version": version,
        "peer": "a",
        "origin_url": gateway.url,
        "origin_owner": owner,
        "origin_name": name,
        "origin_version": version,
        "origin_registry": origin.registry.address,
        "image_repository": repository,
        "image_digest": digest,
        "trusted_keys": (public_key_pem(origin.signing.public_key),),
    }
    return MirrorRequested(**{**fields, **extra})


def served_artifact(
    gateway: OriginGateway, kind: ArtifactKind, content: bytes, **override: Any
) -> MirroredArtifact:
    name = f"{uuid.uuid4().hex[:8]}-{kind.value}"
    gateway.files[name] = content
    fields = {
        "kind": kind.value,
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "url": gateway.file_url(name),
    }
    return MirroredArtifact(**{**fields, **override})


def provenance_envelope(key: SigningKey, digest: str) -> bytes:
    """A DSSE envelope of an in-toto statement about `digest`, as the origin's builder writes."""
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "origin/alice/iris", "digest": {"sha256": digest.split(":")[1]}}],
    }
    return json.dumps(dsse_sign(key, json.dumps(statement).encode())).encode()


def manifest_status(side: Side, repository: str, reference: str) -> int:
    return manifest_head(side, repository, reference).status_code


def manifest_head(side: Side, repository: str, reference: str) -> httpx.Response:
    token = side.keys.issuer().mint("test", [repository_access(repository, PULL)]).token
    response = httpx.head(
        f"http://{side.registry.address}/v2/{repository}/manifests/{reference}",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.docker.distribution.manifest.v2+json",
        },
        timeout=10,
    )
    return response


async def assert_nothing_stored(
    local: Side, blobs: BlobStore, request: MirrorRequested, digest: str
) -> None:
    repository = f"{request.owner}/{request.name}"
    assert manifest_status(local, repository, digest) == 404
    assert manifest_status(local, repository, str(request.version)) == 404
    for artifact in request.artifacts:
        kind = ArtifactKind(artifact.kind)
        key = artifact_key(kind, request.owner, request.name, request.version, artifact.sha256)
        assert not await blobs.exists(key), key


def unique_repository(owner: str = "alice") -> str:
    return f"{owner}/m{uuid.uuid4().hex[:8]}"
