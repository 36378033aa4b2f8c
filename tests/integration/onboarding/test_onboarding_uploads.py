"""Uploads against real Postgres and S3: a good bundle is stored content-addressed with a
version and a ModelUploaded in the outbox; bad ones are 4xx with a reason and store nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from modelbay_common.events import ModelUploaded
from onboarding_bundles import archive, make_bundle_dir, regular, tar_gz
from onboarding_harness import Onboarding, OnboardingFactory


def _good_archive(tmp_path: Path) -> bytes:
    return archive(make_bundle_dir(tmp_path / "adder"), tmp_path / "adder.tar.gz").read_bytes()


async def test_a_good_bundle_is_stored_versioned_and_announced(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory()
    body = _good_archive(tmp_path)
    sha256 = hashlib.sha256(body).hexdigest()

    first = await onboarding.upload("alice/adder", body)
    second = await onboarding.upload("alice/adder", body)

    assert first.status_code == 202, first.text
    assert first.json()["version"] == 1
    assert first.json()["status"] == "uploaded"
    assert second.json()["version"] == 2
    # One content-addressed bundle for both versions; interface files per version.
    assert onboarding.list_objects() == [
        f"bundles/sha256/{sha256}.tar.gz",
        "interfaces/alice/adder/1/model.proto",
        "interfaces/alice/adder/1/openapi.json",
        "interfaces/alice/adder/2/model.proto",
        "interfaces/alice/adder/2/openapi.json",
    ]
    stored = await onboarding.service.blob_store.get_bytes(f"bundles/sha256/{sha256}.tar.gz")
    assert stored == body
    openapi = json.loads(
        await onboarding.service.blob_store.get_bytes("interfaces/alice/adder/1/openapi.json")
    )
    assert "/model/methods/add" in openapi["paths"]

    uploads = await onboarding.rows(
        "SELECT version, bundle_sha256, uploaded_by, python_version FROM onboarding.uploads "
        "ORDER BY version"
    )
    assert uploads == [(1, sha256, "alice", "3.11"), (2, sha256, "alice", "3.11")]
    [(payload,)] = await onboarding.rows(
        "SELECT payload FROM onboarding.outbox WHERE payload->'data'->>'version' = '1'"
    )
    assert payload["type"] == ModelUploaded.type
    event = payload["data"]
    assert event["upload_id"] == first.json()["upload_id"]
    assert event["bundle_uri"] == f"bundles/sha256/{sha256}.tar.gz"
    assert event["bundle_size"] == len(body)
    assert event["methods"] == ["add"]
    assert event["owner_org"] == "acme"
    assert event["interface"][0]["inputs"] == [
        {"name": "x", "type": "float"},
        {"name": "y", "type": "float"},
    ]
    delivered = await onboarding.wait_for(ModelUploaded.type, "alice/adder/2", bound=60)
    assert delivered.subject == "alice/adder/2"


async def _assert_nothing_stored(onboarding: Onboarding) -> None:
    assert onboarding.list_objects() == []
    for table in ("uploads", "model_sequences", "outbox"):
        assert await onboarding.rows(f"SELECT 1 FROM onboarding.{table}") == [], table


async def test_a_corrupted_bundle_is_refused_and_nothing_is_stored(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory()
    bundle = make_bundle_dir(tmp_path / "adder")
    (bundle / "model.pkl").write_bytes(b"tampered after the manifest was signed")
    response = await onboarding.upload("alice/adder", archive(bundle, tmp_path / "a").read_bytes())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "manifest.files.model.pkl"
    await _assert_nothing_stored(onboarding)

    truncated = _good_archive(tmp_path / "second")[:-200]
    response = await onboarding.upload("alice/adder", truncated)
    assert response.status_code == 400
    assert "not a readable gzip-compressed tar archive" in response.json()["detail"]
    await _assert_nothing_stored(onboarding)


async def test_a_zip_slip_archive_is_refused_and_nothing_is_stored(
    onboarding_factory: OnboardingFactory,
) -> None:
    onboarding = await onboarding_factory()
    attack = tar_gz([regular("manifest.json", b"{}"), regular("code/../../../.bashrc", b"evil")])
    response = await onboarding.upload("alice/adder", attack)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "zip-slip" in response.json()["detail"]
    await _assert_nothing_stored(onboarding)


async def test_an_oversized_upload_is_refused_and_nothing_is_stored(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory(max_upload_bytes=512)
    response = await onboarding.upload("alice/adder", _good_archive(tmp_path))
    assert response.status_code == 413
    assert "512 bytes" in response.json()["detail"]
    await _assert_nothing_stored(onboarding)
    # A refused upload took no version number: the next good one is version 1.
    roomy = await onboarding_factory()
    accepted = await roomy.upload("alice/adder", _good_archive(tmp_path / "again"))
    assert accepted.json()["version"] == 1
