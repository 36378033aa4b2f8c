"""Publish approval through `/v1` on real Postgres (the catalog's PUBLISH_APPROVAL=required):
a publication to `public` becomes a request; a publisher approves or declines it with a comment
and never their own model; the model stays unseen until approved; each step is an event."""

from __future__ import annotations

from collections import Counter

from gateway_curation import (
    PUBLISH,
    assert_problem,
    grant_publisher,
    new_org,
    outbox_events,
    ready_model,
    reviewing_stack,
)
from gateway_stack import Stack

# The catalog requires approval of every public publication.
stack = reviewing_stack(publish_approval="required")


async def test_a_public_publication_waits_for_another_publisher(
    stack: Stack, archive_bytes: bytes
) -> None:
    alice, pat, bob = [await stack.new_user(name) for name in ("alice", "pat", "bob")]
    await grant_publisher(stack, "pat")
    await grant_publisher(stack, "alice")  # a publisher too, which does not let her self-approve
    version = await ready_model(stack, alice, "alice", "birds", archive_bytes)
    model = "/v1/models/alice/birds"

    async with stack.client(alice) as client:
        asked = await client.post(f"{model}/publish", json={**PUBLISH, "visibility": "public"})
        assert asked.status_code == 202, asked.text
        request = asked.json()
        assert asked.headers["location"] == f"/v1/publish-requests/{request['id']}"
        assert (request["status"], request["requested_by"]) == ("pending", "alice")
        assert (request["version"], request["visibility"]) == (version, "public")
        again = await client.post(f"{model}/publish", json={**PUBLISH, "visibility": "public"})
        assert_problem(again, 409, "publish-request-pending")
        own = await client.post(f"/v1/publish-requests/{request['id']}/approve", json={})
        assert_problem(own, 403, "own-publication")
        mine = (await client.get("/v1/publish-requests")).json()["items"]
        assert [item["id"] for item in mine] == [request["id"]]
    async with stack.client(bob) as client:  # nothing public yet, nothing to decide for bob
        assert_problem(await client.get(model), 404, "model-not-found")
        assert (await client.get("/v1/publish-requests")).json()["items"] == []
        refused = await client.post(f"/v1/publish-requests/{request['id']}/approve", json={})
        assert_problem(refused, 404, "publish-request-not-found")

    async with stack.client(pat) as client:
        pending = (await client.get("/v1/publish-requests")).json()["items"]
        assert request["id"] in [item["id"] for item in pending]
        silent = await client.post(f"/v1/publish-requests/{request['id']}/decline", json={})
        assert_problem(silent, 400, "comment-required")
        approved = await client.post(
            f"/v1/publish-requests/{request['id']}/approve", json={"comment": "Looks good"}
        )
        assert approved.status_code == 200, approved.text
        decided = approved.json()
        assert (decided["status"], decided["decided_by"]) == ("approved", "pat")
        assert decided["comment"] == "Looks good"
        twice = await client.post(f"/v1/publish-requests/{request['id']}/approve", json={})
        assert_problem(twice, 409, "publish-request-decided")
    async with stack.client(bob) as client:  # published: everyone sees it now
        seen = await client.get(model)
        assert seen.status_code == 200
        assert seen.json()["visibility"] == "public"
        refused = await client.post(f"/v1/publish-requests/{request['id']}/approve", json={})
        assert_problem(refused, 403, "publisher-required")

    types = Counter(e["type"] for e in await outbox_events(stack, "catalog", "alice/birds/"))
    assert types["modelbay.model.publish_requested.v1"] == 1
    assert types["modelbay.model.publish_approved.v1"] == 1
    assert types["modelbay.model.published.v1"] == 1


async def test_declined_with_a_comment_and_org_publications_need_no_approval(
    stack: Stack, archive_bytes: bytes
) -> None:
    owen, mia, quinn = [await stack.new_user(name) for name in ("owen", "mia", "quinn")]
    await grant_publisher(stack, "quinn")
    await grant_publisher(stack, "mia")
    await new_org(stack, owen, "herons", {"mia": "maintainer"})
    await ready_model(stack, mia, "herons", "counter", archive_bytes)
    model = "/v1/models/herons/counter"

    async with stack.client(mia) as client:
        # `org` (and `private`) publications are the maintainers' own decision.
        direct = await client.post(f"{model}/publish", json={**PUBLISH, "visibility": "org"})
        assert direct.status_code == 200, direct.text
        asked = await client.post(f"{model}/publish", json={**PUBLISH, "visibility": "public"})
        assert asked.status_code == 202, asked.text
        request_id = asked.json()["id"]
    async with stack.client(owen) as client:
        # An owner of the organisation that owns the model is not a publisher: refused. (Were
        # he one, the model would still be his own.)
        refused = await client.post(f"/v1/publish-requests/{request_id}/approve", json={})
        assert_problem(refused, 403, "publisher-required")
    async with stack.client(mia) as client:  # a publisher who maintains the model
        own = await client.post(f"/v1/publish-requests/{request_id}/approve", json={})
        assert_problem(own, 403, "own-publication")
    async with stack.client(quinn) as client:
        declined = await client.post(
            f"/v1/publish-requests/{request_id}/decline",
            json={"comment": "The model card says nothing about the training data."},
        )
        assert declined.status_code == 200, declined.text
        assert declined.json()["status"] == "declined"
        history = (await client.get("/v1/publish-requests", params={"status": "declined"})).json()
        assert request_id in [item["id"] for item in history["items"]]
        assert (await client.get(model)).status_code == 404  # still the organisation's only
    async with stack.client(mia) as client:
        seen = (await client.get(model)).json()
        assert seen["visibility"] == "org"
        # Declined is final for that request; a new one may be filed.
        again = await client.post(f"{model}/publish", json={**PUBLISH, "visibility": "public"})
        assert again.status_code == 202

    declines = [
        e
        for e in await outbox_events(stack, "catalog", "herons/counter/")
        if e["type"] == "modelbay.model.publish_declined.v1"
    ]
    assert [(e["data"]["declined_by"], e["data"]["requested_by"]) for e in declines] == [
        ("quinn", "mia")
    ]
    assert declines[0]["data"]["comment"].startswith("The model card")


async def test_a_model_s_requests_are_listed_for_those_who_may_ask_for_publication(
    stack: Stack, archive_bytes: bytes
) -> None:
    """`?owner=&name=&status=all`: the model page's "declined" / "waiting" notice reads this."""
    dora, mo, rex, sam, pia = [
        await stack.new_user(name) for name in ("dora", "mo", "rex", "sam", "pia")
    ]
    await grant_publisher(stack, "pia")
    await new_org(stack, dora, "otters", {"mo": "maintainer", "rex": "reader"})
    await ready_model(stack, dora, "otters", "swim", archive_bytes)
    await ready_model(stack, dora, "otters", "dive", archive_bytes)
    model = "/v1/models/otters/swim"
    this_model = {"owner": "otters", "name": "swim", "status": "all"}

    async with stack.client(mo) as client:
        shared = await client.post(f"{model}/publish", json={**PUBLISH, "visibility": "org"})
        assert shared.status_code == 200, shared.text  # rex, a reader, sees the model now
        asked = await client.post(f"{model}/publish", json={**PUBLISH, "visibility": "public"})
        assert asked.status_code == 202, asked.text
        request_id = asked.json()["id"]
    for token in (dora, mo):  # the owner and the maintainer who asked
        async with stack.client(token) as client:
            found = (await client.get("/v1/publish-requests", params=this_model)).json()["items"]
            assert [(item["id"], item["status"]) for item in found] == [(request_id, "pending")]
    async with stack.client(rex) as client:  # sees the model, not its requests
        assert (await client.get(model)).status_code == 200
        found = await client.get("/v1/publish-requests", params=this_model)
        assert found.status_code == 200, found.text
        assert found.json()["items"] == []
        by_id = await client.get(f"/v1/publish-requests/{request_id}")
        assert_problem(by_id, 404, "publish-request-not-found")
    async with stack.client(sam) as client:  # a stranger: the same empty list, no hint
        assert_problem(await client.get(model), 404, "model-not-found")
        assert (await client.get("/v1/publish-requests", params=this_model)).json()["items"] == []
        by_id = await client.get(f"/v1/publish-requests/{request_id}")
        assert_problem(by_id, 404, "publish-request-not-found")

    async with stack.client(pia) as client:
        declined = await client.post(
            f"/v1/publish-requests/{request_id}/decline", json={"comment": "Say what it learnt."}
        )
        assert declined.status_code == 200, declined.text
        other = {"owner": "otters", "name": "dive", "status": "all"}
        assert (await client.get("/v1/publish-requests", params=other)).json()["items"] == []
    async with stack.client(dora) as client:
        latest = await client.get("/v1/publish-requests", params={**this_model, "limit": 1})
        [item] = latest.json()["items"]
        assert (item["id"], item["status"], item["decided_by"]) == (request_id, "declined", "pia")
        assert item["comment"] == "Say what it learnt."
        pending = await client.get("/v1/publish-requests", params={"owner": "otters"})
        assert pending.json()["items"] == []  # `status` still defaults to pending
        nameless = await client.get("/v1/publish-requests", params={"name": "swim"})
        problem = assert_problem(nameless, 400, "invalid-filter")
        assert problem["parameter"] == "name"
        bad_status = await client.get("/v1/publish-requests", params={"status": "maybe"})
        invalid = assert_problem(bad_status, 422, "validation-error")
        assert [error["field"] for error in invalid["errors"]] == ["query.status"]
        too_long = await client.get("/v1/publish-requests", params={"owner": "o" * 101})
        invalid = assert_problem(too_long, 422, "validation-error")
        assert [error["field"] for error in invalid["errors"]] == ["query.owner"]
