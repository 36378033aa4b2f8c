"""Aliases through `/v1` on real Postgres: moved only by maintainers (owner, org maintainers,
administrators) and only to ready versions; `latest` is automatic; `owner/name@stable` works
wherever a version is accepted (detail with its pull line, downloads); every move is an event."""

from __future__ import annotations

from collections import Counter

from gateway_curation import (
    assert_problem,
    new_org,
    outbox_events,
    pushed_version,
    ready_version,
)
from gateway_stack import ADMIN_TOKEN, Stack

MODEL = "/v1/models/vision-co/segmenter"


async def test_aliases_are_moved_by_maintainers_and_resolved_wherever_a_version_is(
    stack: Stack, archive_bytes: bytes
) -> None:
    vera, milo, rex, zed = [await stack.new_user(n) for n in ("vera", "milo", "rex", "zed")]
    await new_org(stack, vera, "vision-co", {"milo": "maintainer", "rex": "reader"})
    first = await pushed_version(stack, milo, "vision-co", "segmenter", archive_bytes)
    second = await pushed_version(stack, milo, "vision-co", "segmenter", archive_bytes)
    await ready_version(stack, milo, "vision-co", "segmenter", first)
    await stack.wait_for_version(milo, "vision-co", "segmenter", second)  # still `uploaded`

    async with stack.client(milo) as client:
        not_ready = await client.put(f"{MODEL}/aliases/stable", json={"version": second})
        body = assert_problem(not_ready, 409, "version-not-ready")
        assert body["version"] == second
        missing = await client.put(f"{MODEL}/aliases/stable", json={"version": 99})
        assert_problem(missing, 404, "version-not-found")
        assert_problem(
            await client.put(f"{MODEL}/aliases/latest", json={"version": first}),
            400,
            "alias-is-automatic",
        )
        bad = await client.put(f"{MODEL}/aliases/Not_An_Alias", json={"version": first})
        assert_problem(bad, 400, "invalid-alias-name")
        no_version = await client.put(f"{MODEL}/aliases/stable", json={})
        assert no_version.status_code == 422
        moved = await client.post(f"{MODEL}/aliases/stable", json={"version": first})
        assert moved.status_code == 200, moved.text
        assert moved.json()["version"] == first
        assert moved.json()["moved_by"] == "milo"

    # The model is private: the reader of its organisation does not see it (404), so the
    # maintainer publishes it to the organisation, and the reader is refused with 403.
    async with stack.client(milo) as client:
        published = await client.post(
            f"{MODEL}/publish",
            json={
                "description": "Segments images",
                "category": "vision",
                "license": "MIT",
                "visibility": "org",
            },
        )
        assert published.status_code == 200, published.text
    async with stack.client(rex) as client:
        refused = await client.put(f"{MODEL}/aliases/stable", json={"version": first})
        assert_problem(refused, 403, "maintainer-required")
        # ... but reads through the alias, everywhere a version is accepted.
        for ref in ("stable", "@stable", "latest", str(first)):
            detail = await client.get(f"{MODEL}/versions/{ref}")
            assert detail.status_code == 200, (ref, detail.text)
            assert detail.json()["version"] == first
            assert detail.json()["pull_command"].startswith("docker pull ")
        bundle = await client.get(f"{MODEL}/versions/stable/bundle")
        assert bundle.status_code == 200
        assert bundle.content == archive_bytes
        assert_problem(await client.get(f"{MODEL}/versions/canary"), 404, "alias-not-found")
        bad_ref = await client.get(f"{MODEL}/versions/Not_An_Alias")
        assert bad_ref.status_code == 422
        too_big = await client.get(f"{MODEL}/versions/9999999999")
        assert too_big.status_code == 422
    async with stack.client(zed) as client:  # not a member: the model does not exist for him
        assert_problem(await client.get(f"{MODEL}/versions/stable"), 404, "model-not-found")
        refused = await client.put(f"{MODEL}/aliases/stable", json={"version": first})
        assert_problem(refused, 404, "model-not-found")

    # Once the second version is ready, `latest` follows it by itself; `stable` moves when a
    # maintainer (here: an administrator) says so.
    await ready_version(stack, milo, "vision-co", "segmenter", second)
    async with stack.client(ADMIN_TOKEN) as client:
        moved = await client.put(f"{MODEL}/aliases/stable", json={"version": second})
        assert moved.status_code == 200, moved.text
        again = await client.put(f"{MODEL}/aliases/stable", json={"version": second})
        assert again.status_code == 200  # no change: no event
        listed = (await client.get(f"{MODEL}/aliases")).json()
        assert [(a["alias"], a["version"], a["automatic"]) for a in listed["aliases"]] == [
            ("latest", second, True),
            ("stable", second, False),
        ]
    async with stack.client(vera) as client:  # an owner of the organisation removes it
        assert (await client.delete(f"{MODEL}/aliases/stable")).status_code == 204
        assert_problem(await client.delete(f"{MODEL}/aliases/stable"), 404, "alias-not-found")
        assert_problem(await client.delete(f"{MODEL}/aliases/latest"), 400, "alias-is-automatic")

    events = await outbox_events(stack, "catalog", "vision-co/segmenter/")
    curation = [e for e in events if "alias" in e["type"]]
    assert Counter(e["type"] for e in curation) == {
        "modelbay.model.alias_moved.v1": 2,
        "modelbay.model.alias_removed.v1": 1,
    }
    moves = {
        (e["data"]["previous_version"], e["data"]["version"], e["data"]["moved_by"])
        for e in curation
        if e["type"].endswith("alias_moved.v1")
    }
    assert moves == {(None, first, "milo"), (first, second, "root")}
