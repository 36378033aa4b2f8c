"""Ratings, comments, favourites and views through the public `/v1` API, with the real catalog
and onboarding on Postgres: the same rules as the catalog's own tests, seen by a client with a
token, every change an event in the catalog's outbox, and the OpenAPI document showing it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from gateway_stack import ADMIN_TOKEN, Stack, sse_events
from modelbay_common.db import create_engine
from sqlalchemy import text

PROBLEM = "application/problem+json"
GUARD_SECONDS = 60  # only so that a broken stream fails the test instead of hanging it
MODEL = "/v1/models/owl/perch"


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/" + slug), body
    return body


async def catalog_events(stack: Stack, owner: str) -> list[str]:
    """Types of the catalog's outbox events about `owner`'s models, oldest first."""
    engine = create_engine(stack.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT event_type FROM catalog.outbox WHERE payload->'data'->>'owner' = :o "
                    "ORDER BY created_at, event_type"
                ),
                {"o": owner},
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def published_model(stack: Stack, archive: bytes, token: str, owner: str, name: str) -> None:
    pushed = await stack.push(token, owner, name, archive)
    assert pushed.status_code == 202, pushed.text
    detail = await stack.wait_for_version(token, owner, name, 1)
    await stack.make_ready(owner, name, 1, detail["bundle"]["sha256"])
    async with stack.client(token) as client:
        published = await client.post(
            f"/v1/models/{owner}/{name}/publish",
            json={"description": "Perch detector", "category": "vision", "license": "MIT"},
        )
    assert published.status_code == 200, published.text


async def test_rate_comment_star_and_view_through_v1(stack: Stack, archive_bytes: bytes) -> None:
    owl = await stack.new_user("owl")
    finch = await stack.new_user("finch")
    wren = await stack.new_user("wren")
    await published_model(stack, archive_bytes, owl, "owl", "perch")

    async with stack.client(finch) as f, stack.client(wren) as w, stack.client(owl) as o:
        first = await f.put(f"{MODEL}/rating", json={"stars": 2, "review": "Misses owls"})
        assert (first.status_code, first.json()["stars"]) == (201, 2)
        edited = await f.put(f"{MODEL}/rating", json={"stars": 4, "review": "Better"})
        assert (edited.status_code, edited.json()["review"]) == (200, "Better")
        assert (await w.put(f"{MODEL}/rating", json={"stars": 5})).status_code == 201
        problem(await o.put(f"{MODEL}/rating", json={"stars": 5}), 403, "own-model-rating")
        bad = problem(await f.put(f"{MODEL}/rating", json={"stars": 9}), 422, "validation-error")
        assert bad["errors"][0]["field"] == "body.stars"

        page = (await w.get(f"{MODEL}/ratings")).json()
        assert page["summary"] == {
            "count": 2,
            "average": 4.5,
            "histogram": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
        }
        assert (await f.get(f"{MODEL}/ratings/finch")).json()["stars"] == 4

        question = (
            await f.post(f"{MODEL}/versions/1/comments", json={"body": "Night use?"})
        ).json()
        reply = await o.post(
            f"{MODEL}/versions/1/comments", json={"body": "Yes", "parent_id": question["id"]}
        )
        assert reply.status_code == 201, reply.text
        comment_url = f"{MODEL}/versions/1/comments/{question['id']}"
        problem(await w.patch(comment_url, json={"body": "Mine"}), 403, "not-comment-author")
        assert (await f.patch(comment_url, json={"body": "At night?"})).status_code == 200
        problem(
            await f.post(f"{MODEL}/versions/1/comments", json={"body": ""}), 422, "validation-error"
        )
        problem(
            await f.patch(f"{MODEL}/versions/1/comments/987654", json={"body": "x"}),
            404,
            "comment-not-found",
        )
        assert (await f.delete(comment_url)).status_code == 204
        threads = (await w.get(f"{MODEL}/versions/1/comments")).json()
        [thread] = threads["items"]
        assert (thread["state"], thread["body"]) == ("deleted", None)
        assert thread["replies"][0]["body"] == "Yes"

        starred = await w.put(f"{MODEL}/favourite")
        assert starred.json() == {"favourited": True, "favourites": 1}
        assert [m["name"] for m in (await w.get("/v1/me/favourites")).json()] == ["perch"]
        viewed = await w.post(f"{MODEL}/views", json={"version": 1})
        assert viewed.json() == {"model_views": 1, "version": 1, "version_views": 1}
        stats = (await w.get(f"{MODEL}/stats")).json()
        assert (stats["favourites"], stats["views"], stats["my_rating"]["stars"]) == (1, 1, 5)

    async with stack.client() as anonymous:
        refused = await anonymous.put(f"{MODEL}/rating", json={"stars": 3})
        problem(refused, 401, "missing-token")
    async with stack.client(ADMIN_TOKEN) as admin:
        hidden = await admin.put(
            f"{MODEL}/versions/1/comments/{reply.json()['id']}/moderation",
            json={"hidden": True, "reason": "Off topic"},
        )
        assert hidden.json()["state"] == "hidden"

    assert await catalog_events(stack, "owl") == [
        "modelbay.model.published.v1",
        "modelbay.model.rated.v1",
        "modelbay.model.rated.v1",
        "modelbay.model.rated.v1",
        "modelbay.model.comment_posted.v1",
        "modelbay.model.comment_posted.v1",
        "modelbay.model.comment_edited.v1",
        "modelbay.model.comment_deleted.v1",
        "modelbay.model.favourited.v1",
        "modelbay.model.comment_hidden.v1",
    ]


async def test_a_private_model_is_a_404_and_looks_missing(
    stack: Stack, archive_bytes: bytes
) -> None:
    heron = await stack.new_user("heron")
    crane = await stack.new_user("crane")
    pushed = await stack.push(heron, "heron", "secret", archive_bytes)
    assert pushed.status_code == 202
    await stack.wait_for_version(heron, "heron", "secret", 1)

    async with stack.client(crane) as client:
        for method, path, body in [
            ("GET", "/stats", None),
            ("GET", "/ratings", None),
            ("PUT", "/rating", {"stars": 3}),
            ("PUT", "/favourite", None),
            ("POST", "/views", {}),
            ("GET", "/versions/1/comments", None),
            ("POST", "/versions/1/comments", {"body": "Hello"}),
        ]:
            hidden = await client.request(method, "/v1/models/heron/secret" + path, json=body)
            missing = await client.request(method, "/v1/models/heron/nothing" + path, json=body)
            assert problem(hidden, 404, "model-not-found")["title"] == missing.json()["title"]
            assert hidden.json()["instance"] == "/v1/models/heron/secret" + path
    assert await catalog_events(stack, "heron") == []


async def test_the_openapi_document_shows_the_community_routes_and_their_problems(
    stack: Stack,
) -> None:
    async with stack.client() as client:
        document = (await client.get("/v1/openapi.json")).json()
    rate = document["paths"]["/v1/models/{owner}/{name}/rating"]["put"]
    assert set(rate["responses"]) >= {"200", "201", "401", "403", "404", "422"}
    assert PROBLEM in rate["responses"]["422"]["content"]
    schemas = document["components"]["schemas"]
    stars = schemas["RatingBody"]["properties"]["stars"]
    assert (stars["minimum"], stars["maximum"]) == (1, 5)
    assert "replies" in schemas["CommentThread"]["properties"]
    comments = document["paths"]["/v1/models/{owner}/{name}/versions/{version}/comments"]
    assert set(comments) == {"get", "post"}
    assert "histogram" in schemas["RatingSummary"]["properties"]


async def test_followers_of_a_model_see_its_community_events_live(
    stack: Stack, archive_bytes: bytes
) -> None:
    kite = await stack.new_user("kite")
    swift = await stack.new_user("swift")
    await published_model(stack, archive_bytes, kite, "kite", "glide")

    async with (
        stack.client(swift) as client,
        client.stream("GET", "/v1/events", params={"owner": "kite"}) as stream,
    ):
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        async for line in lines:
            if line == ": connected":  # the hub has registered the subscriber
                break
        events = sse_events(lines)
        rated = await client.put("/v1/models/kite/glide/rating", json={"stars": 5})
        assert rated.status_code == 201
        posted = await client.post(
            "/v1/models/kite/glide/versions/1/comments", json={"body": "Smooth"}
        )
        assert posted.status_code == 201
        wanted = {"modelbay.model.rated.v1", "modelbay.model.comment_posted.v1"}
        community: list[dict[str, Any]] = []
        async with asyncio.timeout(GUARD_SECONDS):
            # A late event of the publication (relayed by the outbox on a busy machine) may come
            # first; only the community events' order is asserted.
            while len(community) < 2:
                event = await anext(events)
                if event["event"] in wanted:
                    community.append(event)
        first, second = community
    assert (first["event"], first["data"]["data"]["stars"]) == ("modelbay.model.rated.v1", 5)
    assert (second["event"], second["data"]["data"]["body"]) == (
        "modelbay.model.comment_posted.v1",
        "Smooth",
    )
    assert second["data"]["source"] == "/modelbay/catalog"
