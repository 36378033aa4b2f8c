"""Federation between two instances, each its own in-process stack on its own Postgres database
(docs/federation.md): A publishes, B's administrator registers A as a peer and syncs, B lists
the model read-only with its origin, B's builder's answers make it ready or record why not, and
A's unpublish (or deletion) withdraws it on B. The builder's copy itself is tested in
tests/integration/builder/ and end to end in tests/e2e/test_federation.py; here B's builder is
played by the test (federation_instances.py). The admin routes, the CLI and the page are in
test_gateway_federation_admin.py."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator

import pytest
from federation_instances import (
    ORIGIN_URL,
    PROBLEM,
    PUBLISH,
    Instances,
    ensure_peer_a,
    failed,
    mirrored,
    publish_on_origin,
    two_instances,
)
from gateway_stack import ADMIN_TOKEN
from modelbay_common.blob import keys


@pytest.fixture(scope="module")
async def instances(
    module_database_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Instances]:
    async with two_instances(module_database_url, postgres_url, tmp_path_factory) as found:
        yield found


async def test_a_public_version_is_mirrored_read_only_and_withdrawn_with_its_origin(
    instances: Instances, archive_bytes: bytes
) -> None:
    alice = await instances.origin.stack.new_user("alice")
    origin_detail = await publish_on_origin(instances, alice, "alice", "adder", archive_bytes)
    sha = origin_detail["bundle"]["sha256"]

    # The feed on A: the published version with what B needs to mirror it.
    async with instances.origin_client(instances.peer_token) as client:
        page = (await client.get("/v1/federation/changes", params={"after": "0"})).json()
        entry = next(e for e in page["entries"] if e["owner"] == "alice")
        assert entry["action"] == "published"
        assert entry["version"] == 1
        assert entry["registry"] == "127.0.0.1:5000"
        assert entry["image_repository"] == "alice/adder"
        assert entry["image_digest"] == "sha256:" + sha
        bundle = next(a for a in entry["artifacts"] if a["kind"] == "bundle")
        assert bundle["sha256"] == sha
        assert bundle["size"] == len(archive_bytes)
        assert bundle["url"].endswith("/v1/models/alice/adder/versions/1/bundle")
        assert {a["kind"] for a in entry["artifacts"]} >= {"bundle", "proto", "openapi"}
        after = await client.get("/v1/federation/changes", params={"after": page["next_cursor"]})
        assert after.json()["entries"] == []
        assert after.json()["has_more"] is False

    # B's administrator registers A with that token, subscribing to alice's models.
    await ensure_peer_a(instances)
    async with instances.mirror_client() as admin:
        shown = (await admin.get("/v1/admin/peers/a")).json()
        assert "token" not in shown
        assert shown["subscriptions"]["owners"] == ["alice"]
        synced = (await admin.post("/v1/admin/peers/a/sync")).json()
        assert synced["requested"] == 1
        assert synced["error"] is None
        request = await instances.builder.next_request(0)
        assert (request.owner, request.name, request.version) == ("alice", "adder", 1)
        assert request.peer == "a"
        assert request.origin_url == ORIGIN_URL
        assert request.image_digest == "sha256:" + sha
        listed = (await admin.get("/v1/models/alice/adder")).json()
        assert listed["origin"]["peer"] == "a"
        assert listed["origin"]["url"] == ORIGIN_URL
        version = (await admin.get("/v1/models/alice/adder/versions/1")).json()
        assert version["status"] == "building"
        assert version["origin"]["state"] == "requested"
        again = (await admin.post("/v1/admin/peers/a/sync")).json()
        assert again["requested"] == 0  # the cursor moved on; nothing asked twice

    # B's builder copied it (the bundle under the same key as on A): ready, downloads work.
    origin_blobs, mirror_blobs = instances.origin.stack.blob_dir, instances.mirror.stack.blob_dir
    for source in [p for p in origin_blobs.rglob("*") if p.is_file() and sha in p.name]:
        target = mirror_blobs / source.relative_to(origin_blobs)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    await instances.answer(mirrored(request, "sha256:" + sha))
    bob = await instances.mirror.stack.new_user("bob")
    async with instances.mirror_client(bob) as reader:
        ready = (await reader.get("/v1/models/alice/adder/versions/1")).json()
        assert ready["status"] == "ready", ready
        assert ready["origin"]["state"] == "ready"
        assert ready["bundle"]["uri"] == keys.bundle_key(sha)
        downloaded = await reader.get("/v1/models/alice/adder/versions/1/bundle")
        assert downloaded.status_code == 200
        assert downloaded.content == archive_bytes
        found = (await reader.get("/v1/models", params={"q": "adds"})).json()
        assert [(i["owner"], i["name"]) for i in found["items"]] == [("alice", "adder")]

    # Read-only on B: publish, alias, rating, push refused with 409 naming the peer.
    async with instances.mirror_client() as admin, instances.mirror_client(bob) as user:
        refusals = [
            await admin.post("/v1/models/alice/adder/publish", json=PUBLISH),
            await admin.put("/v1/models/alice/adder/aliases/stable", json={"version": 1}),
            await user.put("/v1/models/alice/adder/rating", json={"stars": 5}),
            await instances.mirror.stack.push(ADMIN_TOKEN, "alice", "adder", archive_bytes),
        ]
    for refused in refusals:
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["type"].endswith("/model-is-mirrored")
        assert "mirrored from peer 'a'" in refused.json()["detail"]

    # A's owner unpublishes: at B's next sync the model is withdrawn (hidden, 404).
    async with instances.origin_client(alice) as client:
        private = await client.post(
            "/v1/models/alice/adder/publish", json={**PUBLISH, "visibility": "private"}
        )
        assert private.status_code == 200, private.text
    async with instances.mirror_client() as admin:
        withdrawn = (await admin.post("/v1/admin/peers/a/sync")).json()
        assert withdrawn["withdrawn"] == 1
        peer = (await admin.get("/v1/admin/peers/a")).json()
        assert peer["mirrors"]["withdrawn"] == 1
        assert peer["status"]["last_error"] is None
    async with instances.mirror_client(bob) as reader:
        gone = await reader.get("/v1/models/alice/adder")
        assert gone.status_code == 404
        assert gone.headers["content-type"] == PROBLEM
        assert (await reader.get("/v1/models", params={"q": "adds"})).json()["items"] == []


async def test_name_clash_failures_and_retries_are_recorded(
    instances: Instances, archive_bytes: bytes
) -> None:
    # B has a model carol/adder of its own; A's carol/adder arrives as a.carol/adder.
    carol_b = await instances.mirror.stack.new_user("carol")
    assert (
        await instances.mirror.stack.push(carol_b, "carol", "adder", archive_bytes)
    ).status_code == 202
    await instances.mirror.stack.wait_for_version(carol_b, "carol", "adder", 1)
    carol_a = await instances.origin.stack.new_user("carol")
    await publish_on_origin(instances, carol_a, "carol", "adder", archive_bytes)
    dave_a = await instances.origin.stack.new_user("dave")
    await publish_on_origin(instances, dave_a, "dave", "adder", archive_bytes)
    await ensure_peer_a(instances)

    seen = len(instances.builder.requests)
    async with instances.mirror_client() as admin:
        changed = await admin.patch(
            "/v1/admin/peers/a", json={"subscriptions": {"owners": ["carol", "dave"]}}
        )
        assert changed.status_code == 200, changed.text
        assert (await admin.post("/v1/admin/peers/a/sync")).json()["requested"] == 2
        # The two requests may be relayed in either order.
        requests = [await instances.builder.next_request(seen + i) for i in range(2)]
        by_origin = {request.origin_owner: request for request in requests}
        clash, dave = by_origin["carol"], by_origin["dave"]
        assert (clash.owner, clash.name, clash.origin_owner) == ("a.carol", "adder", "carol")
        assert (await admin.get("/v1/models/a.carol/adder")).json()["origin"]["owner"] == "carol"
        assert (await admin.get("/v1/models/carol/adder")).json()["origin"] is None

        # A signature that does not verify is final: the version fails, saying why.
        await instances.answer(failed(clash, "the signature did not verify", retryable=False))
        refused = (await admin.get("/v1/models/a.carol/adder/versions/1")).json()
        assert refused["status"] == "failed"
        assert "the signature did not verify" in refused["failure"]["reason"]
        peer = (await admin.get("/v1/admin/peers/a")).json()
        assert peer["last_mirror_failure"] == "the signature did not verify"

        # The origin's registry answered 503: retried by the next sync after its back-off.
        await instances.answer(failed(dave, "the origin's registry answered HTTP 503.", True))
        waiting = (await admin.get("/v1/models/dave/adder/versions/1")).json()
        assert waiting["status"] == "building"
        assert waiting["origin"]["state"] == "failed"
        await asyncio.sleep(0.1)  # longer than the back-off of this module's settings
        retried = (await admin.post("/v1/admin/peers/a/sync")).json()
        assert retried["retried"] == 1
        again = await instances.builder.next_request(seen + 2)
        assert (again.owner, again.name) == ("dave", "adder")
        assert (await admin.get("/v1/models/dave/adder/versions/1")).json()["origin"][
            "state"
        ] == "requested"

    # dave deletes the model on A: B withdraws it at its next sync.
    async with instances.origin_client(dave_a) as client:
        deleted = await client.delete("/v1/models/dave/adder")
        assert deleted.status_code == 200, deleted.text
    async with instances.mirror_client() as admin:
        assert (await admin.post("/v1/admin/peers/a/sync")).json()["withdrawn"] == 1
        assert (await admin.get("/v1/models/dave/adder")).json()["origin"]["withdrawn"] is True
    async with instances.mirror_client(carol_b) as user:
        assert (await user.get("/v1/models/dave/adder")).status_code == 404


async def test_a_new_version_of_a_mirrored_model_is_mirrored_at_the_next_sync(
    instances: Instances, archive_bytes: bytes
) -> None:
    erin = await instances.origin.stack.new_user("erin")
    await publish_on_origin(instances, erin, "erin", "adder", archive_bytes)
    await ensure_peer_a(instances)
    seen = len(instances.builder.requests)
    async with instances.mirror_client() as admin:
        await admin.patch("/v1/admin/peers/a", json={"subscriptions": {"owners": ["erin"]}})
        assert (await admin.post("/v1/admin/peers/a/sync")).json()["requested"] == 1
        assert (await instances.builder.next_request(seen)).version == 1

    # Version 2 becomes ready on A while the model is public: announced without a publication.
    stack = instances.origin.stack
    assert (await stack.push(erin, "erin", "adder", archive_bytes)).status_code == 202
    detail = await stack.wait_for_version(erin, "erin", "adder", 2)
    await stack.make_ready("erin", "adder", 2, detail["bundle"]["sha256"])
    async with instances.mirror_client() as admin:
        assert (await admin.post("/v1/admin/peers/a/sync")).json()["requested"] == 1
        second = await instances.builder.next_request(seen + 1)
        assert (second.owner, second.name, second.version) == ("erin", "adder", 2)
        model = (await admin.get("/v1/models/erin/adder")).json()
        assert [v["version"] for v in model["versions"]] == [1, 2]
