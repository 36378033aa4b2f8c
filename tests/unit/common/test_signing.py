"""The platform signing key, simple-signing payloads, DSSE envelopes, cosign's layout and the
provenance statement (modelbay_common.signing / cosign_layout / provenance)."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from modelbay.image_signature import _signed_claims, _signer
from modelbay_common.cosign_layout import (
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING_LAYER,
    signature_artifact,
    signature_layers,
    signature_tag,
)
from modelbay_common.provenance import ImageProvenance, statement_subject_digest
from modelbay_common.signing import (
    SignatureInvalid,
    TrustedKey,
    dsse_sign,
    dsse_verify,
    load_or_create_signing_key,
    load_trusted_keys,
    simple_signing_payload,
    verify_image_signature,
)

DIGEST = "sha256:" + "ab" * 32


def test_the_key_is_generated_once_private_and_its_public_half_published(tmp_path: Path) -> None:
    directory = tmp_path / "signing"
    first = load_or_create_signing_key(directory)
    again = load_or_create_signing_key(directory)

    assert first.key_id == again.key_id
    assert first.key_id.startswith("sha256:")
    assert len(first.key_id) == 71
    assert stat.S_IMODE((directory / "signing.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert [key.key_id for key in load_trusted_keys(directory)] == [first.key_id]


def test_a_rotation_keeps_the_old_public_key_trusted(tmp_path: Path) -> None:
    directory = tmp_path / "signing"
    old = load_or_create_signing_key(directory)
    (directory / "signing.key").rename(tmp_path / "retired.key")
    new = load_or_create_signing_key(directory)

    assert new.key_id != old.key_id
    assert {key.key_id for key in load_trusted_keys(directory)} == {old.key_id, new.key_id}


def test_an_image_signature_verifies_and_names_the_image(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path)
    payload = simple_signing_payload("reg:5000/alice/iris:3", DIGEST, "test")
    signature = base64.b64encode(key.sign(payload)).decode()
    trusted = [TrustedKey(key.key_id, key.public_key)]

    signed = verify_image_signature(payload, signature, trusted)

    assert (signed.docker_reference, signed.manifest_digest) == ("reg:5000/alice/iris:3", DIGEST)
    critical = json.loads(payload)["critical"]
    assert critical["type"] == "cosign container image signature"
    # The SDK's independent verifier agrees.
    assert _signer([key.public_key], payload, signature) == key.key_id
    assert _signed_claims(payload) == ("reg:5000/alice/iris:3", DIGEST)


def test_a_changed_payload_or_another_key_is_refused(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path / "a")
    stranger = load_or_create_signing_key(tmp_path / "b")
    payload = simple_signing_payload("reg/alice/iris:3", DIGEST, "test")
    signature = base64.b64encode(key.sign(payload)).decode()
    forged = payload.replace(b"iris:3", b"iris:4")

    with pytest.raises(SignatureInvalid, match="no trusted key"):
        verify_image_signature(forged, signature, [TrustedKey(key.key_id, key.public_key)])
    with pytest.raises(SignatureInvalid, match="no trusted key"):
        verify_image_signature(
            payload, signature, [TrustedKey(stranger.key_id, stranger.public_key)]
        )
    with pytest.raises(SignatureInvalid, match="base64"):
        verify_image_signature(payload, "not base64!", [TrustedKey(key.key_id, key.public_key)])


def test_dsse_envelopes_round_trip_and_refuse_tampering(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path)
    trusted = [TrustedKey(key.key_id, key.public_key)]
    envelope = dsse_sign(key, b'{"hello": 1}')

    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert envelope["signatures"][0]["keyid"] == key.key_id
    assert dsse_verify(envelope, trusted) == b'{"hello": 1}'

    tampered = {**envelope, "payload": base64.b64encode(b'{"hello": 2}').decode()}
    with pytest.raises(SignatureInvalid, match="no trusted key"):
        dsse_verify(tampered, trusted)
    retyped = {**envelope, "payloadType": "text/plain"}  # the type is signed too (PAE)
    with pytest.raises(SignatureInvalid):
        dsse_verify(retyped, trusted)
    with pytest.raises(SignatureInvalid, match="not a DSSE envelope"):
        dsse_verify({"payload": "x"}, trusted)


def test_the_cosign_layout_names_the_tag_and_annotates_each_layer() -> None:
    artifact = signature_artifact([(b"payload", "c2ln")])
    manifest = json.loads(artifact.manifest)

    assert signature_tag(DIGEST) == f"sha256-{'ab' * 32}.sig"
    assert manifest["layers"][0]["mediaType"] == SIMPLE_SIGNING_LAYER
    assert manifest["layers"][0]["annotations"] == {SIGNATURE_ANNOTATION: "c2ln"}
    assert manifest["config"]["digest"] in artifact.blobs
    assert signature_layers(manifest) == [(manifest["layers"][0]["digest"], "c2ln")]
    with pytest.raises(ValueError, match="not a sha256"):
        signature_tag("md5:abc")


def test_the_provenance_statement_pins_every_input() -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    provenance = ImageProvenance(
        repository="reg/alice/iris",
        image_digest=DIGEST,
        owner="alice",
        name="iris",
        version=3,
        bundle_uri="bundles/sha256/cd.tar.gz",
        bundle_sha256="cd" * 32,
        lock_hash="ef" * 32,
        base_image="modelbay/python:3.11-bookworm",
        base_image_id="sha256:" + "01" * 32,
        proto_sha256="23" * 32,
        sbom_key="sboms/alice/iris/3.cdx.json",
        sbom_sha256="45" * 32,
        builder_version="0.1.0",
        started=now,
        finished=now,
    )
    statement = provenance.statement()

    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert statement_subject_digest(statement) == DIGEST
    dependencies = {
        d["name"]: d["digest"]["sha256"]
        for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    }
    assert dependencies == {
        "bundle": "cd" * 32,
        "base-image": "01" * 32,
        "lock": "ef" * 32,
        "model.proto": "23" * 32,
    }
    run = statement["predicate"]["runDetails"]
    assert run["builder"]["version"] == {"modelbay-builder": "0.1.0"}
    assert run["byproducts"][0]["digest"] == {"sha256": "45" * 32}
