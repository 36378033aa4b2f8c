"""Events drive versions on real Postgres: status, recorded facts, out of order, redelivery,
failures, publishing and download counts."""

from __future__ import annotations

from catalog_events import RunningCatalog, built, headers, resolved, uploaded, wrap
from modelbay_common.events import (
    DependencyResolutionFailed,
    ImageBuildFailed,
    ValidationFailed,
)
from sqlalchemy import text

PUBLISH = {"description": "Iris flowers", "category": "classification", "license": "MIT"}


async def version(catalog: RunningCatalog, owner: str, name: str, number: int) -> dict[str, object]:
    response = await catalog.client.get(
        f"/internal/models/{owner}/{name}/versions/{number}", headers=headers(owner)
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def outbox_rows(catalog: RunningCatalog) -> list[dict[str, object]]:
    async with catalog.service.sessions() as session:
        rows = await session.execute(text("SELECT payload FROM catalog.outbox ORDER BY created_at"))
        return [row[0] for row in rows]


async def test_events_in_order_move_a_version_to_ready_with_what_they_carry(
    catalog: RunningCatalog,
) -> None:
    await catalog.deliver(uploaded("alice", "iris", description="Classifies iris flowers"))
    assert (await version(catalog, "alice", "iris", 1))["status"] == "uploaded"

    await catalog.deliver(resolved("alice", "iris"))
    assert (await version(catalog, "alice", "iris", 1))["status"] == "building"

    await catalog.deliver(built("alice", "iris"))
    found = await version(catalog, "alice", "iris", 1)

    assert found["status"] == "ready"
    assert found["failure"] is None
    assert found["requirements"] == ["scikit-learn==1.5.2", "numpy==2.1.0"]
    assert found["lock_hash"] == "c" * 64
    assert found["python_version"] == "3.11.2"
    assert found["image"] == {
        "ref": "127.0.0.1:5000/alice/iris:1",
        "digest": "sha256:" + "d" * 64,
        "size": 200_000_000,
        "pull_command": "docker pull 127.0.0.1:5000/alice/iris:1",
        "pinned_pull_command": "docker pull 127.0.0.1:5000/alice/iris@sha256:" + "d" * 64,
        "sbom_uri": "s3://modelbay/sboms/alice/iris/1.cdx.json",
        "dependency_layer_cached": False,
        # This ImageBuilt carries no provenance (built without a signing key).
        "provenance_uri": None,
        "provenance_sha256": None,
    }
    interface = found["interface"]
    assert isinstance(interface, dict)
    assert interface["proto_key"] == "interfaces/alice/iris/1/model.proto"
    assert interface["openapi_key"] == "interfaces/alice/iris/1/openapi.json"
    assert [field["name"] for field in interface["methods"][0]["inputs"]] == [
        "sepal_length",
        "sepal_width",
    ]
    timings = found["timings"]
    assert isinstance(timings, dict)
    assert timings["build_seconds"] == 4.5
    assert timings["validation_seconds"] == 1.5
    assert timings["total_seconds"] is not None
    model = (await catalog.model("alice", "iris", user="alice")).json()
    assert model["latest_status"] == "ready"
    assert model["libraries"] == ["numpy", "scikit-learn"]
    assert model["description"] == "Classifies iris flowers"
    assert model["visibility"] == "private"


async def test_out_of_order_events_never_move_a_version_backwards(
    catalog: RunningCatalog,
) -> None:
    # The builder's event overtakes the resolver's, and the upload is seen last of all.
    await catalog.deliver(built("bob", "late", 2))
    await catalog.deliver(resolved("bob", "late", 2))
    await catalog.deliver(uploaded("bob", "late", 2, method="score"))

    found = await version(catalog, "bob", "late", 2)
    assert found["status"] == "ready"
    # The late events still filled in what only they knew.
    assert found["lock_hash"] == "c" * 64
    assert found["requirements"] == ["scikit-learn==1.5.2", "numpy==2.1.0"]
    assert found["uploaded_by"] == "bob"
    # A failure reported after ready is ignored: ready is final.
    await catalog.deliver(ImageBuildFailed(owner="bob", name="late", version=2, reason="late"))
    after = await version(catalog, "bob", "late", 2)
    assert after["status"] == "ready"
    assert after["failure"] is None


async def test_a_redelivered_event_is_handled_once(catalog: RunningCatalog) -> None:
    first = wrap(uploaded("carol", "dup"))
    await catalog.deliver(first, resolved("carol", "dup"))
    # The same event id again (a crash between commit and ack): the inbox skips it.
    await catalog.deliver(first)

    assert (await version(catalog, "carol", "dup", 1))["status"] == "building"
    async with catalog.service.sessions() as session:
        handled = await session.scalar(
            text("SELECT count(*) FROM catalog.inbox WHERE event_id = :id"), {"id": first.id}
        )
    assert handled == 1


async def test_failures_end_the_version_with_a_reason_a_person_can_act_on(
    catalog: RunningCatalog,
) -> None:
    pip_message = "ERROR: No matching distribution found for scikit-learn==99.0"
    await catalog.deliver(
        uploaded("dave", "broken"),
        DependencyResolutionFailed(
            owner="dave", name="broken", version=1, reason="unsatisfiable", detail=pip_message
        ),
    )
    await catalog.deliver(
        uploaded("dave", "broken", 2),
        resolved("dave", "broken", 2),
        ValidationFailed(
            owner="dave",
            name="broken",
            version=2,
            reason="sample output differs",
            method="classify",
            sample_index=0,
            expected={"value": 1},
            actual={"value": 2},
        ),
    )
    # A late success after failed changes nothing: failed is final.
    await catalog.deliver(built("dave", "broken", 2))

    first = await version(catalog, "dave", "broken", 1)
    assert first["status"] == "failed"
    assert first["failure"] == {"reason": "unsatisfiable", "detail": pip_message, "sample": None}
    second = await version(catalog, "dave", "broken", 2)
    assert second["status"] == "failed"
    assert second["image"] is None
    failure = second["failure"]
    assert isinstance(failure, dict)
    assert failure["sample"] == {
        "method": "classify",
        "sample_index": 0,
        "expected": {"value": 1},
        "actual": {"value": 2},
    }
    assert "expected" in failure["detail"]


async def test_publish_is_refused_until_the_version_is_ready_then_emits_published(
    catalog: RunningCatalog,
) -> None:
    await catalog.deliver(uploaded("erin", "iris"), resolved("erin", "iris"))
    url = "/internal/models/erin/iris/publish"

    refused = await catalog.client.post(url, json=PUBLISH, headers=headers("erin"))
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "no ready version" in refused.json()["detail"]
    explicit = await catalog.client.post(
        url, json={**PUBLISH, "version": 1}, headers=headers("erin")
    )
    assert explicit.status_code == 409
    assert "'building'" in explicit.json()["detail"]
    assert await outbox_rows(catalog) == []

    await catalog.deliver(built("erin", "iris"))
    published = await catalog.client.post(
        url, json={**PUBLISH, "tags": ["Flowers", "iris"]}, headers=headers("erin")
    )

    assert published.status_code == 200, published.text
    assert published.json()["version"] == 1
    rows = await outbox_rows(catalog)
    assert len(rows) == 1
    event = rows[0]
    assert event["type"] == "modelbay.model.published.v1"
    assert event["data"]["visibility"] == "public"
    assert event["data"]["image_ref"] == "127.0.0.1:5000/erin/iris:1"
    assert event["data"]["published_by"] == "erin"
    model = (await catalog.model("erin", "iris", user="someone-else")).json()
    assert model["visibility"] == "public"
    assert model["tags"] == ["flowers", "iris"]
    assert model["category"] == "classification"


async def test_only_the_owner_or_an_admin_may_publish(catalog: RunningCatalog) -> None:
    await catalog.deliver(uploaded("fay", "m"), resolved("fay", "m"), built("fay", "m"))
    url = "/internal/models/fay/m/publish"

    hidden = await catalog.client.post(url, json=PUBLISH, headers=headers("mallory"))
    assert hidden.status_code == 404  # a private model does not exist for others
    by_admin = await catalog.client.post(url, json=PUBLISH, headers=headers("root", admin=True))
    assert by_admin.status_code == 200
    now_public = await catalog.client.post(url, json=PUBLISH, headers=headers("mallory"))
    assert now_public.status_code == 403
    assert now_public.json()["type"].endswith("/not-model-owner")


async def test_publish_names_the_missing_field(catalog: RunningCatalog) -> None:
    response = await catalog.client.post(
        "/internal/models/gus/m/publish",
        json={"description": "d", "license": "MIT"},
        headers=headers("gus"),
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == ["body.category"]


async def test_downloads_are_counted_per_kind_and_shown_on_model_and_version(
    catalog: RunningCatalog,
) -> None:
    await catalog.deliver(uploaded("hal", "m"), resolved("hal", "m"), built("hal", "m"))
    url = "/internal/models/hal/m/versions/1/downloads"
    for kind in ("bundle", "image", "image"):
        response = await catalog.client.post(url, json={"kind": kind}, headers=headers("hal"))
        assert response.status_code == 200

    assert (await version(catalog, "hal", "m", 1))["downloads"] == {"bundle": 1, "image": 2}
    model = (await catalog.model("hal", "m", user="hal")).json()
    assert model["downloads"] == 3
    assert model["versions"][0]["downloads"] == {"bundle": 1, "image": 2}
    unknown_kind = await catalog.client.post(url, json={"kind": "weights"}, headers=headers("hal"))
    assert unknown_kind.status_code == 422
    stranger = await catalog.client.post(url, json={"kind": "bundle"}, headers=headers("eve"))
    assert stranger.status_code == 404
