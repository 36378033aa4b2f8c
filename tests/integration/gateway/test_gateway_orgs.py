"""Organisations through `/v1` on real Postgres: roles decide who pushes into an organisation's
namespace, who sees its `org` and private models, who publishes them and who manages members;
every change of an organisation is an event in the gateway's outbox."""

from __future__ import annotations

import asyncio
from collections import Counter

from gateway_curation import (
    assert_problem,
    new_org,
    outbox_events,
    pushed_version,
    ready_version,
    unsent_outbox_rows,
)
from gateway_stack import ADMIN_TOKEN, Stack

PUBLISH = {"description": "Finds defects on a line", "category": "vision", "license": "MIT"}


async def test_roles_decide_pushing_seeing_and_publishing(
    stack: Stack, archive_bytes: bytes
) -> None:
    olga, mark, rita, sam = [await stack.new_user(name) for name in ("olga", "mark", "rita", "sam")]
    await new_org(stack, olga, "acme-lab", {"mark": "maintainer", "rita": "reader"})

    async with stack.client(mark) as client:
        me = (await client.get("/v1/me")).json()
        assert me["orgs"] == [{"org": "acme-lab", "role": "maintainer"}]
        mine = (await client.get("/v1/orgs")).json()
        assert [(org["name"], org["role"]) for org in mine] == [("acme-lab", "maintainer")]

    # A maintainer pushes into the organisation's namespace; a reader and an outsider may not.
    version = await pushed_version(stack, mark, "acme-lab", "detector", archive_bytes)
    for token in (rita, sam):
        refused = await stack.push(token, "acme-lab", "detector", archive_bytes)
        assert_problem(refused, 403, "not-your-namespace")
    await ready_version(stack, mark, "acme-lab", "detector", version)

    model = "/v1/models/acme-lab/detector"
    # Private (as pushed): the organisation's owners and maintainers see it, its readers not.
    for token, status in ((olga, 200), (mark, 200), (rita, 404), (sam, 404)):
        async with stack.client(token) as client:
            assert (await client.get(model)).status_code == status

    # The maintainer publishes to the organisation; a reader sees it but may not publish.
    async with stack.client(mark) as client:
        published = await client.post(f"{model}/publish", json={**PUBLISH, "visibility": "org"})
        assert published.status_code == 200, published.text
    async with stack.client(rita) as client:
        assert (await client.get(model)).status_code == 200
        found = (await client.get("/v1/models", params={"owner": "acme-lab"})).json()
        assert [item["name"] for item in found["items"]] == ["detector"]
        refused = await client.post(f"{model}/publish", json={**PUBLISH, "visibility": "public"})
        assert_problem(refused, 403, "not-model-owner")
    async with stack.client(sam) as client:
        assert_problem(await client.get(model), 404, "model-not-found")
        found = (await client.get("/v1/models", params={"owner": "acme-lab"})).json()
        assert found["items"] == []

    # Removed from the organisation, the reader no longer sees its `org` models (memberships
    # are read with the token on every request).
    async with stack.client(olga) as client:
        removed = await client.delete("/v1/orgs/acme-lab/members/rita")
        assert removed.status_code == 204
    async with stack.client(rita) as client:
        assert (await client.get(model)).status_code == 404

    events = await outbox_events(stack, "gateway", "orgs/acme-lab")
    assert Counter(event["type"] for event in events) == {
        "modelbay.org.created.v1": 1,
        "modelbay.org.member_added.v1": 3,
        "modelbay.org.member_removed.v1": 1,
    }
    added = {e["data"]["member"]: e["data"]["role"] for e in events if "added" in e["type"]}
    assert added == {"olga": "owner", "mark": "maintainer", "rita": "reader"}
    assert all(event["source"] == "/modelbay/gateway" for event in events)
    # The gateway's outbox relay sends them (an organisation's events go nowhere else).
    for _ in range(200):
        if await unsent_outbox_rows(stack, "gateway") == 0:
            break
        await asyncio.sleep(0.05)
    assert await unsent_outbox_rows(stack, "gateway") == 0


async def test_members_are_managed_by_owners_with_problems_that_name_the_refusal(
    stack: Stack,
) -> None:
    nora, hal, _, kim = [await stack.new_user(name) for name in ("nora", "hal", "ivy", "kim")]
    await new_org(stack, nora, "beta-works", {"hal": "maintainer"})

    async with stack.client(hal) as client:  # a maintainer does not manage members
        refused = await client.put("/v1/orgs/beta-works/members/ivy", json={"role": "reader"})
        assert_problem(refused, 403, "org-owner-required")
        assert (await client.get("/v1/orgs/beta-works")).status_code == 200
    async with stack.client(kim) as client:  # an outsider does not learn about it
        assert_problem(await client.get("/v1/orgs/beta-works"), 404, "org-not-found")
        refused = await client.put("/v1/orgs/beta-works/members/kim", json={"role": "owner"})
        assert_problem(refused, 404, "org-not-found")
        # Users and organisations share one namespace.
        assert_problem(await client.post("/v1/orgs", json={"name": "nora"}), 409, "namespace-taken")
        assert_problem(
            await client.post("/v1/orgs", json={"name": "beta-works"}), 409, "namespace-taken"
        )
        bad = await client.post("/v1/orgs", json={"name": "Not A Name"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "body.name"
    async with stack.client(ADMIN_TOKEN) as admin:
        taken = await admin.post("/v1/users", json={"username": "beta-works"})
        assert_problem(taken, 409, "namespace-taken")
    # An organisation named like the organisation attribute of existing users would see their
    # `org` models: only an administrator may create it.
    await stack.new_user("lena", org="gamma-lab")
    async with stack.client(kim) as client:
        claimed = await client.post("/v1/orgs", json={"name": "gamma-lab"})
        assert_problem(claimed, 409, "namespace-taken")
    async with stack.client(ADMIN_TOKEN) as admin:
        assert (await admin.post("/v1/orgs", json={"name": "gamma-lab"})).status_code == 201

    async with stack.client(nora) as client:
        unknown_role = await client.put("/v1/orgs/beta-works/members/ivy", json={"role": "boss"})
        assert unknown_role.status_code == 422
        assert unknown_role.json()["errors"][0]["field"] == "body.role"
        nobody = await client.put("/v1/orgs/beta-works/members/ghost", json={"role": "reader"})
        assert_problem(nobody, 404, "user-not-found")
        # The last owner can neither leave nor be demoted; with a second owner both work.
        assert_problem(await client.delete("/v1/orgs/beta-works/members/nora"), 409, "last-owner")
        demote = await client.put("/v1/orgs/beta-works/members/nora", json={"role": "reader"})
        assert_problem(demote, 409, "last-owner")
        promoted = await client.put("/v1/orgs/beta-works/members/hal", json={"role": "owner"})
        assert promoted.status_code == 200
        roles = {m["username"]: m["role"] for m in promoted.json()["members"]}
        assert roles == {"hal": "owner", "nora": "owner"}
        assert (await client.delete("/v1/orgs/beta-works/members/nora")).status_code == 204
        assert_problem(await client.get("/v1/orgs/beta-works"), 404, "org-not-found")

    types = Counter(e["type"] for e in await outbox_events(stack, "gateway", "orgs/beta-works"))
    assert types == {
        "modelbay.org.created.v1": 1,
        "modelbay.org.member_added.v1": 2,
        "modelbay.org.member_role_changed.v1": 1,
        "modelbay.org.member_removed.v1": 1,
    }
