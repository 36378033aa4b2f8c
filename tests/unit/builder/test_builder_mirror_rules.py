"""The mirror's pure rules: which failures are retryable, what a manifest refers to, where an
artifact is stored, which keys are pinned, and what B's signature manifest holds."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from modelbay_builder.mirror.copy import _download_artifacts, artifact_key
from modelbay_builder.mirror.errors import MirrorFailure, from_status, registry_failure
from modelbay_builder.mirror.oci import Manifest, manifest_children, registry_scheme
from modelbay_builder.mirror.signatures import VerifiedSignature, countersigned, pinned_keys
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob.keys import bundle_key, proto_key, provenance_key
from modelbay_common.cosign_layout import signature_layers
from modelbay_common.events import MirroredArtifact, MirrorRequested
from modelbay_common.signing import (
    load_or_create_signing_key,
    public_key_pem,
    simple_signing_payload,
    verify_image_signature,
)

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (401, False), (404, False)]
)
def test_only_5xx_and_429_are_retryable(status: int, retryable: bool) -> None:
    failure = from_status("the origin", status)
    assert failure.retryable is retryable
    assert f"HTTP {status}" in failure.reason


def test_a_registry_401_may_pass_an_expired_pull_token_is_renewed_on_retry() -> None:
    assert registry_failure("the registry", 401).retryable
    assert not registry_failure("the registry", 403).retryable
    assert registry_failure("the registry", 502).retryable


def test_an_image_manifest_refers_to_its_config_and_layers_but_not_foreign_ones() -> None:
    document = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + "1" * 64, "size": 10},
        "layers": [
            {"digest": "sha256:" + "2" * 64, "size": 20},
            {"digest": "sha256:" + "3" * 64, "size": 30, "urls": ["https://elsewhere"]},
        ],
    }
    blobs, children = manifest_children(Manifest(json.dumps(document).encode(), ""))
    assert blobs == [("sha256:" + "1" * 64, 10), ("sha256:" + "2" * 64, 20)]
    assert children == []


def test_an_index_refers_to_its_platform_manifests() -> None:
    document = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"digest": DIGEST, "size": 5}],
    }
    assert manifest_children(Manifest(json.dumps(document).encode(), "")) == ([], [(DIGEST, 5)])


def test_a_manifest_that_is_not_json_is_refused_not_retried() -> None:
    with pytest.raises(MirrorFailure) as raised:
        manifest_children(Manifest(b"<html>", ""))
    assert not raised.value.retryable


def test_artifacts_go_where_a_local_build_puts_them() -> None:
    sha = "b" * 64
    assert artifact_key(ArtifactKind.BUNDLE, "alice", "iris", 2, sha) == bundle_key(sha)
    assert artifact_key(ArtifactKind.PROTO, "alice", "iris", 2, sha) == proto_key(
        "alice", "iris", 2
    )
    assert artifact_key(ArtifactKind.PROVENANCE, "a.alice", "iris", 2, sha) == provenance_key(
        "a.alice", "iris", 2
    )
    with pytest.raises(ValueError, match="not kept in the blob store"):
        artifact_key(ArtifactKind.IMAGE, "alice", "iris", 2, sha)


def test_loopback_registries_are_plain_http_others_tls() -> None:
    assert registry_scheme("127.0.0.1:5000") == "http"
    assert registry_scheme("localhost:5000") == "http"
    assert registry_scheme("registry.example.org") == "https"


def test_no_pinned_key_or_an_unusable_one_is_a_refusal(tmp_path: Path) -> None:
    with pytest.raises(MirrorFailure, match="No signing key is pinned for peer 'a'"):
        pinned_keys([], "a")
    with pytest.raises(MirrorFailure, match="not usable"):
        pinned_keys(["not a key"], "a")
    key = load_or_create_signing_key(tmp_path / "k")
    assert [k.key_id for k in pinned_keys([public_key_pem(key.public_key)], "a")] == [key.key_id]


def test_b_keeps_the_origins_signature_and_adds_its_own_for_its_coordinates(
    tmp_path: Path,
) -> None:
    origin_key = load_or_create_signing_key(tmp_path / "origin")
    own_key = load_or_create_signing_key(tmp_path / "own")
    payload = simple_signing_payload("a.example:5000/alice/iris:1", DIGEST, "origin")
    signature = base64.b64encode(origin_key.sign(payload)).decode()
    origin = VerifiedSignature(origin_key.key_id, payload, signature)

    artifact = countersigned(origin, own_key, "127.0.0.1:5001/alice/iris:1", DIGEST)

    layers = signature_layers(json.loads(artifact.manifest))
    assert len(layers) == 2
    (origin_digest, origin_sig), (own_digest, own_sig) = layers
    assert artifact.blobs[origin_digest] == payload
    assert origin_sig == signature
    mine = verify_image_signature(
        artifact.blobs[own_digest], own_sig, pinned_keys([public_key_pem(own_key.public_key)], "b")
    )
    assert mine.docker_reference == "127.0.0.1:5001/alice/iris:1"
    assert mine.manifest_digest == DIGEST
    # Without a key of its own, B keeps only the origin's signature.
    assert len(signature_layers(json.loads(countersigned(origin, None, "x", DIGEST).manifest))) == 1


async def test_an_artifact_announced_above_the_bound_is_refused_before_any_download(
    tmp_path: Path,
) -> None:
    huge = MirroredArtifact(kind="bundle", sha256="c" * 64, size=10**12, url="http://a/v1/x")
    request = MirrorRequested(
        owner="alice",
        name="iris",
        version=1,
        peer="a",
        origin_url="http://a",
        origin_owner="alice",
        origin_name="iris",
        origin_version=1,
        origin_registry="a:5000",
        image_repository="alice/iris",
        image_digest=DIGEST,
        artifacts=(huge,),
    )

    class NeverCalled:
        async def download(self, *args: object) -> None:
            raise AssertionError("nothing may be downloaded")

    with pytest.raises(MirrorFailure, match="more than the 1024 this instance accepts"):
        await _download_artifacts(request, NeverCalled(), tmp_path, [], 1024)  # type: ignore[arg-type]
