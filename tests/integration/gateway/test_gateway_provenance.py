"""The provenance download and the signing keys through the gateway (real Postgres; catalog,
onboarding and gateway in process on the in-process bus, a filesystem blob store).

The builder's part (signing a real build) is tests/integration/builder/test_builder_signing.py;
here the builder is played by its events: a DSSE provenance envelope is stored where the builder
stores it and `ImageBuilt` names it. The catalog records it (migration 0009), the version shows
it, `GET .../provenance` serves exactly those bytes (they verify with the key of `/v1/keys`), a
version built without a key answers 404 artifact-not-available, and a stored envelope that no
longer matches the recorded SHA-256 is never served.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from gateway_stack import Stack
from modelbay_common.blob import keys, open_blob_store
from modelbay_common.events import DependenciesResolved, ImageBuilt, envelope
from modelbay_common.provenance import ENVELOPE_MEDIA_TYPE
from modelbay_common.signing import (
    TrustedKey,
    dsse_sign,
    dsse_verify,
    load_or_create_signing_key,
    load_public_key_pem,
)

PROBLEM = "application/problem+json"
SIGNING_DIR_NAME = "signing"


@pytest.fixture(scope="module")
def signing_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys") / SIGNING_DIR_NAME


@pytest.fixture(scope="module")
def gateway_overrides(signing_dir: Path) -> dict[str, Any]:
    load_or_create_signing_key(signing_dir)  # what the builder does at its first start
    return {"signing_key_dir": signing_dir}


async def _built(
    stack: Stack, owner: str, name: str, sha: str, provenance: tuple[str, str] | None
) -> None:
    for event in (
        DependenciesResolved(
            owner=owner,
            name=name,
            version=1,
            bundle_uri=keys.bundle_key(sha),
            bundle_sha256=sha,
            python_version="3.11",
            lock=(),
            lock_hash=sha,
            wheelhouse_uri=keys.wheelhouse_key(sha),
        ),
        ImageBuilt(
            owner=owner,
            name=name,
            version=1,
            image_ref=f"127.0.0.1:5000/{owner}/{name}:1",
            image_digest="sha256:" + sha,
            image_size=1,
            build_seconds=1.0,
            validation_seconds=1.0,
            provenance_uri=provenance[0] if provenance else None,
            provenance_sha256=provenance[1] if provenance else None,
            signing_seconds=0.05 if provenance else None,
        ),
    ):
        await stack.bus.publish(envelope(event, source="/modelbay/tests"))
        await stack.bus.drain()


async def test_the_provenance_is_served_as_recorded_and_verifies(
    stack: Stack, archive_bytes: bytes, signing_dir: Path
) -> None:
    owner = await stack.new_user("prov")
    assert (await stack.push(owner, "prov", "adder", archive_bytes)).status_code == 202
    detail = await stack.wait_for_version(owner, "prov", "adder", 1)
    sha = detail["bundle"]["sha256"]
    key = load_or_create_signing_key(signing_dir)
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {"sha256": sha}}],
    }
    body = json.dumps(dsse_sign(key, json.dumps(statement).encode())).encode()
    blobs = open_blob_store(stack.blob_dir.as_uri())
    stored_key = keys.provenance_key("prov", "adder", 1)
    await blobs.put(stored_key, io.BytesIO(body), content_type=ENVELOPE_MEDIA_TYPE)
    await _built(stack, "prov", "adder", sha, (stored_key, (await blobs.stat(stored_key)).sha256))

    async with stack.client(owner) as client:
        version = (await client.get("/v1/models/prov/adder/versions/1")).json()
        download = await client.get("/v1/models/prov/adder/versions/1/provenance")
    async with stack.client() as anonymous:
        published = (await anonymous.get("/v1/keys")).json()["keys"]
    assert version["image"]["provenance_uri"] == stored_key
    assert version["timings"]["signing_seconds"] == pytest.approx(0.05)
    assert version["links"]["provenance"].endswith("/versions/1/provenance")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith(ENVELOPE_MEDIA_TYPE)
    assert download.content == body
    trusted = [TrustedKey(k["key_id"], load_public_key_pem(k["pem"])) for k in published]
    assert json.loads(dsse_verify(download.json(), trusted)) == statement

    # Changed in the blob store after it was recorded: the gateway refuses to serve it.
    forged = body.replace(b'"payloadType"', b'"payloadType" ')
    await blobs.put(stored_key, io.BytesIO(forged), content_type=ENVELOPE_MEDIA_TYPE)
    async with stack.client(owner) as client:
        refused = await client.get("/v1/models/prov/adder/versions/1/provenance")
    assert refused.status_code >= 500
    assert refused.headers["content-type"] == PROBLEM


async def test_a_version_built_without_a_key_has_no_provenance(
    stack: Stack, archive_bytes: bytes
) -> None:
    owner = await stack.new_user("unsigned")
    assert (await stack.push(owner, "unsigned", "adder", archive_bytes)).status_code == 202
    detail = await stack.wait_for_version(owner, "unsigned", "adder", 1)
    await _built(stack, "unsigned", "adder", detail["bundle"]["sha256"], None)
    async with stack.client(owner) as client:
        missing = await client.get("/v1/models/unsigned/adder/versions/1/provenance")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["type"].endswith("/artifact-not-available")
    assert "signed" in missing.json()["detail"]
