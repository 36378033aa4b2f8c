"""Publish approval scoped to some owners (the catalog's PUBLISH_APPROVAL_OWNERS) through `/v1`
on real Postgres: with approval `off` for the platform, a publication to `public` of a model of
a listed organisation becomes a request, while a personal model is published at once; `org`
visibility of the listed organisation still applies at once; a publisher outside the
organisation approves."""

from __future__ import annotations

from gateway_curation import (
    PUBLISH,
    assert_problem,
    grant_publisher,
    new_org,
    ready_model,
    reviewing_stack,
)
from gateway_stack import Stack

REVIEWED_ORG = "acme"
# Approval off for the platform, required for the organisation `acme` only.
stack = reviewing_stack(publish_approval="off", publish_approval_owners=[REVIEWED_ORG])


async def test_only_the_listed_owner_waits_for_a_publisher(
    stack: Stack, archive_bytes: bytes
) -> None:
    alice, pat, bob = [await stack.new_user(name) for name in ("alice", "pat", "bob")]
    await grant_publisher(stack, "pat")
    await grant_publisher(stack, "alice")  # a publisher who still cannot approve her own
    await new_org(stack, alice, REVIEWED_ORG, {})
    for owner in (REVIEWED_ORG, "alice"):
        await ready_model(stack, alice, owner, "birds", archive_bytes)

    async with stack.client(alice) as client:
        personal = await client.post(
            "/v1/models/alice/birds/publish", json={**PUBLISH, "visibility": "public"}
        )
        assert personal.status_code == 200, personal.text  # not listed: published at once
        org_wide = await client.post(
            f"/v1/models/{REVIEWED_ORG}/birds/publish", json={**PUBLISH, "visibility": "org"}
        )
        assert org_wide.status_code == 200, org_wide.text  # only `public` is reviewed
        asked = await client.post(
            f"/v1/models/{REVIEWED_ORG}/birds/publish", json={**PUBLISH, "visibility": "public"}
        )
        assert asked.status_code == 202, asked.text
        request = asked.json()
        assert (request["owner"], request["status"]) == (REVIEWED_ORG, "pending")
        own = await client.post(f"/v1/publish-requests/{request['id']}/approve", json={})
        assert_problem(own, 403, "own-publication")
        model = (await client.get(f"/v1/models/{REVIEWED_ORG}/birds")).json()
        assert model["visibility"] == "org"  # unchanged until a publisher decides

    async with stack.client(pat) as client:
        approved = await client.post(f"/v1/publish-requests/{request['id']}/approve", json={})
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
    async with stack.client(bob) as outsider:
        found = await outsider.get(f"/v1/models/{REVIEWED_ORG}/birds")
        assert found.status_code == 200, found.text
        assert found.json()["visibility"] == "public"
