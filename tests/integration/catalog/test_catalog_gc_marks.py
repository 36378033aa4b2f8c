"""`GET /internal/gc/marks` (api_gc.py) on real Postgres: failed versions and every version of a
deleted model are dead; the bundles and locks of the others are the live references; only an
administrator may read it."""

from __future__ import annotations

from catalog_events import SHA, RunningCatalog, built, headers, resolved, uploaded
from modelbay_common.events import ImageBuildFailed


async def test_marks_name_dead_versions_and_live_references(catalog: RunningCatalog) -> None:
    await catalog.deliver(uploaded("alice", "iris", 1), resolved("alice", "iris", 1))
    await catalog.deliver(built("alice", "iris", 1))
    await catalog.deliver(uploaded("alice", "iris", 2), resolved("alice", "iris", 2))
    await catalog.deliver(
        ImageBuildFailed(owner="alice", name="iris", version=2, reason="no", detail="")
    )
    await catalog.deliver(uploaded("alice", "gone", 1))
    deleted = await catalog.client.delete("/internal/models/alice/gone", headers=headers("alice"))
    assert deleted.status_code == 200, deleted.text
    await catalog.deliver(uploaded("bob", "pending", 1))  # still in the pipeline: live

    marks = await catalog.client.get("/internal/gc/marks", headers=headers("root", admin=True))
    assert marks.status_code == 200, marks.text
    dead = {(d["owner"], d["name"], d["version"], d["reason"]) for d in marks.json()["dead"]}
    assert dead == {("alice", "iris", 2, "failed"), ("alice", "gone", 1, "model-deleted")}
    assert marks.json()["live_lock_hashes"] == ["c" * 64]
    # Every upload here carries the same bundle: a live user keeps it for the dead ones too.
    assert marks.json()["live_bundle_sha256"] == [SHA]

    refused = await catalog.client.get("/internal/gc/marks", headers=headers("alice"))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
