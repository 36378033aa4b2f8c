"""Sharing: another user's private model is invisible everywhere (404, never 403) until its
owner publishes it; then it is found by a word of its description and can be downloaded."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path

import httpx
import pytest
from gateway_stack import Stack

PROBLEM = "application/problem+json"
SECRET_WORD = "quokkaverse"


async def test_private_model_is_invisible_to_others_until_published(
    stack: Stack, archive_bytes: bytes
) -> None:
    alice = await stack.new_user("alice")
    bob = await stack.new_user("bob")

    pushed = await stack.push(alice, "alice", "adder", archive_bytes)
    assert pushed.status_code == 202, pushed.text
    accepted = pushed.json()
    assert accepted["owner"] == "alice"
    assert accepted["version"] == 1
    assert accepted["status_url"] == "/v1/models/alice/adder/versions/1"
    assert pushed.headers["location"] == accepted["status_url"]
    detail = await stack.wait_for_version(alice, "alice", "adder", 1)
    assert detail["status"] == "uploaded"
    assert detail["links"]["bundle"] == "/v1/models/alice/adder/versions/1/bundle"

    version_paths = [
        "/v1/models/alice/adder",
        "/v1/models/alice/adder/versions/1",
        "/v1/models/alice/adder/versions/1/bundle",
        "/v1/models/alice/adder/versions/1/proto",
        "/v1/models/alice/adder/versions/1/openapi",
        "/v1/models/alice/adder/versions/1/sbom",
        "/v1/models/alice/adder/versions/1/image",
    ]
    async with stack.client(bob) as client:
        for path in version_paths:
            hidden = await client.get(path)
            missing = await client.get(path.replace("adder", "no-such-model"))
            assert hidden.status_code == 404, path
            assert hidden.headers["content-type"] == PROBLEM
            # Nothing tells an existing private model from a missing one but the name itself.
            assert hidden.json()["title"] == missing.json()["title"]
            assert hidden.json()["type"] == missing.json()["type"]
        found = (await client.get("/v1/models", params={"q": "adder"})).json()
        assert all(item["owner"] != "alice" for item in found["items"])
        publish = await client.post(
            "/v1/models/alice/adder/publish",
            json={"description": "x", "category": "regression", "license": "MIT"},
        )
        assert publish.status_code == 404
        into_alice = await stack.push(bob, "alice", "adder", archive_bytes)
        assert into_alice.status_code == 403
        assert into_alice.json()["type"].endswith("/not-your-namespace")

    await stack.make_ready("alice", "adder", 1, detail["bundle"]["sha256"])
    async with stack.client(alice) as client:
        ready = (await client.get("/v1/models/alice/adder/versions/1")).json()
        assert ready["status"] == "ready"
        assert ready["pull_command"] == "docker pull 127.0.0.1:5000/alice/adder:1"
        published = await client.post(
            "/v1/models/alice/adder/publish",
            json={
                "description": f"Adds two numbers, the {SECRET_WORD} way",
                "category": "regression",
                "license": "MIT",
            },
        )
        assert published.status_code == 200, published.text

    async with stack.client(bob) as client:
        found = (await client.get("/v1/models", params={"q": SECRET_WORD})).json()
        assert [(item["owner"], item["name"]) for item in found["items"]] == [("alice", "adder")]
        assert (await client.get("/v1/models/alice/adder")).status_code == 200
        bundle = await client.get("/v1/models/alice/adder/versions/1/bundle")
    assert bundle.status_code == 200
    assert bundle.content == archive_bytes
    digest = base64.b64encode(hashlib.sha256(archive_bytes).digest()).decode()
    assert bundle.headers["repr-digest"] == f"sha-256=:{digest}:"
    async with stack.client(alice) as client:
        model = (await client.get("/v1/models/alice/adder")).json()
    assert model["downloads"] >= 1


async def test_owner_downloads_interface_files_and_missing_sbom_is_404(
    stack: Stack, archive_bytes: bytes
) -> None:
    owner = await stack.new_user("frank")
    assert (await stack.push(owner, "frank", "adder", archive_bytes)).status_code == 202
    await stack.wait_for_version(owner, "frank", "adder", 1)
    async with stack.client(owner) as client:
        proto = await client.get("/v1/models/frank/adder/versions/1/proto")
        openapi = await client.get("/v1/models/frank/adder/versions/1/openapi")
        sbom = await client.get("/v1/models/frank/adder/versions/1/sbom")
        image = await client.get("/v1/models/frank/adder/versions/1/image")
    assert proto.status_code == 200
    assert 'syntax = "proto3"' in proto.text
    assert openapi.status_code == 200
    assert "paths" in openapi.json()
    assert sbom.status_code == 404
    assert sbom.json()["type"].endswith("/artifact-not-available")
    assert image.status_code == 404  # not ready: no image yet
    assert "ready" in image.json()["detail"]


async def test_corrupt_bundle_in_the_blob_store_is_never_served(
    stack: Stack, archive_bytes: bytes
) -> None:
    owner = await stack.new_user("grace")
    assert (await stack.push(owner, "grace", "adder", archive_bytes)).status_code == 202
    detail = await stack.wait_for_version(owner, "grace", "adder", 1)
    sha = detail["bundle"]["sha256"]
    path = await asyncio.to_thread(_stored_file, stack.blob_dir, sha)
    original = await asyncio.to_thread(path.read_bytes)
    # Same size, different bytes: only the SHA-256 check can notice.
    await asyncio.to_thread(path.write_bytes, original[:-10] + b"0123456789")
    try:
        async with stack.client(owner) as client:
            # The SHA-256 is only known once the last byte was read, so the gateway cuts the
            # stream: the client gets an error, never a complete-looking corrupt file.
            with pytest.raises(httpx.ReadError):
                await client.get("/v1/models/grace/adder/versions/1/bundle")
    finally:
        await asyncio.to_thread(path.write_bytes, original)


def _stored_file(blob_dir: Path, sha256: str) -> Path:
    stored = [p for p in blob_dir.rglob("*") if p.is_file() and sha256 in p.name]
    assert stored, "the bundle should be in the filesystem blob store"
    return stored[0]
