"""Ratings, favourites and views through the catalog's internal API on real Postgres: one
rating per user, the tally after edits equals a recount, the no-leak 404, and an event in the
outbox for every change."""

from __future__ import annotations

import asyncio

from catalog_events import RunningCatalog, headers
from catalog_social import outbox_events, private_model, problem, public_model
from modelbay_catalog.social.rules import tally_of
from sqlalchemy import text

MODEL = "/internal/models/alice/iris"


async def rate(
    catalog: RunningCatalog, user: str, stars: object, **extra: object
) -> tuple[int, dict[str, object]]:
    response = await catalog.client.put(
        f"{MODEL}/rating", json={"stars": stars, **extra}, headers=headers(user)
    )
    return response.status_code, response.json()


async def stars_in_rows(catalog: RunningCatalog) -> list[int]:
    async with catalog.service.sessions() as session:
        rows = await session.execute(text("SELECT stars FROM catalog.ratings"))
        return [int(row[0]) for row in rows]


async def test_one_rating_per_user_the_second_edits_and_the_tally_follows(
    catalog: RunningCatalog,
) -> None:
    await public_model(catalog, "alice", "iris", versions=2)

    status, first = await rate(catalog, "bob", 2, review="Too slow", version=1)
    assert (status, first["stars"], first["version"]) == (201, 2, 1)
    status, edited = await rate(catalog, "bob", 5, review="Fast since v2")
    assert status == 200
    assert (edited["user"], edited["stars"], edited["review"], edited["version"]) == (
        "bob",
        5,
        "Fast since v2",
        2,  # the newest version when none is named
    )
    assert (await rate(catalog, "carol", 3))[0] == 201
    assert (await rate(catalog, "dave", 4))[0] == 201
    assert (await rate(catalog, "dave", 1))[0] == 200
    assert (await rate(catalog, "dave", 1))[0] == 200  # a repeat: no change, no event

    page = (await catalog.client.get(f"{MODEL}/ratings", headers=headers("erin"))).json()
    assert [item["user"] for item in page["items"]] == ["dave", "carol", "bob"]
    summary = page["summary"]
    assert summary == {
        "count": 3,
        "average": 3.0,
        "histogram": {"1": 1, "2": 0, "3": 1, "4": 0, "5": 1},
    }
    recount = tally_of(await stars_in_rows(catalog))
    assert (recount.count, recount.average, recount.histogram_by_star()) == (
        summary["count"],
        summary["average"],
        summary["histogram"],
    )

    stats = (await catalog.client.get(f"{MODEL}/stats", headers=headers("bob"))).json()
    assert stats["ratings"] == summary
    # Cards show the summary too: the model and every search result carry it.
    model = (await catalog.model("alice", "iris", user="erin")).json()
    assert (model["rating_average"], model["rating_count"]) == (3.0, 3)
    found = await catalog.client.get("/internal/models", params={"q": "iris"}, headers=headers())
    assert (
        found.json()["items"][0]["rating_average"],
        found.json()["items"][0]["rating_count"],
    ) == (3.0, 3)
    assert stats["my_rating"]["stars"] == 5

    events = await outbox_events(catalog, "modelbay.model.rated")
    assert [(e["data"]["rated_by"], e["data"]["previous_stars"]) for e in events] == [
        ("bob", None),
        ("bob", 2),
        ("carol", None),
        ("dave", None),
        ("dave", 4),
    ]
    assert events[0]["subject"] == "alice/iris/1"
    assert (events[-1]["data"]["rating_count"], events[-1]["data"]["rating_average"]) == (3, 3.0)


async def test_concurrent_ratings_of_one_model_keep_the_tally_equal_to_the_rows(
    catalog: RunningCatalog,
) -> None:
    await public_model(catalog, "alice", "iris")
    users = [f"user{index}" for index in range(12)]

    results = await asyncio.gather(
        *(rate(catalog, user, 1 + index % 5) for index, user in enumerate(users))
    )
    results += await asyncio.gather(*(rate(catalog, user, 5) for user in users[:6]))

    assert [status for status, _ in results] == [201] * 12 + [200] * 6
    stats = (await catalog.client.get(f"{MODEL}/stats", headers=headers("x"))).json()
    recount = tally_of(await stars_in_rows(catalog))
    assert stats["ratings"]["count"] == recount.count == 12
    assert stats["ratings"]["histogram"] == recount.histogram_by_star()


async def test_bad_ratings_are_refused_naming_the_field(catalog: RunningCatalog) -> None:
    await public_model(catalog, "alice", "iris")

    for stars in (0, 6, "five"):
        response = await catalog.client.put(
            f"{MODEL}/rating", json={"stars": stars}, headers=headers("bob")
        )
        body = problem(response, 422, "validation-error")
        assert body["errors"][0]["field"] == "body.stars"
    too_long = await catalog.client.put(
        f"{MODEL}/rating", json={"stars": 3, "review": "x" * 5001}, headers=headers("bob")
    )
    assert problem(too_long, 422, "validation-error")["errors"][0]["field"] == "body.review"
    empty = await catalog.client.put(
        f"{MODEL}/rating", json={"stars": 3, "review": "  "}, headers=headers("bob")
    )
    assert problem(empty, 422, "validation-error")["errors"][0]["field"] == "body.review"
    missing_version = await catalog.client.put(
        f"{MODEL}/rating", json={"stars": 3, "version": 9}, headers=headers("bob")
    )
    problem(missing_version, 404, "version-not-found")
    own = await catalog.client.put(f"{MODEL}/rating", json={"stars": 5}, headers=headers("alice"))
    problem(own, 403, "own-model-rating")
    anonymous = await catalog.client.put(f"{MODEL}/rating", json={"stars": 5}, headers=headers())
    problem(anonymous, 401, "caller-required")
    assert await outbox_events(catalog, "modelbay.model.rated") == []


async def test_a_model_the_caller_may_not_see_is_a_404_like_a_missing_one(
    catalog: RunningCatalog,
) -> None:
    await private_model(catalog, "alice", "iris")
    routes = [
        ("GET", "/stats", None),
        ("GET", "/ratings", None),
        ("PUT", "/rating", {"stars": 4}),
        ("PUT", "/favourite", None),
        ("POST", "/views", {}),
        ("GET", "/versions/1/comments", None),
        ("POST", "/versions/1/comments", {"body": "hello"}),
    ]
    for method, path, body in routes:
        hidden = await catalog.client.request(
            method, MODEL + path, json=body, headers=headers("bob")
        )
        missing = await catalog.client.request(
            method, "/internal/models/alice/nothing" + path, json=body, headers=headers("bob")
        )
        hidden_problem = problem(hidden, 404, "model-not-found")
        missing_problem = problem(missing, 404, "model-not-found")
        assert hidden_problem["title"] == missing_problem["title"]
        assert hidden_problem["detail"].replace("iris", "nothing") == missing_problem["detail"]
    assert await outbox_events(catalog, "modelbay.model.") == []


async def test_removing_a_rating_by_its_author_or_an_admin(catalog: RunningCatalog) -> None:
    await public_model(catalog, "alice", "iris")
    await rate(catalog, "bob", 4)
    await rate(catalog, "carol", 2)

    refused = await catalog.client.delete(f"{MODEL}/ratings/bob", headers=headers("carol"))
    problem(refused, 403, "not-rating-author")
    removed = await catalog.client.delete(f"{MODEL}/ratings/bob", headers=headers("bob"))
    assert removed.json() == {
        "count": 1,
        "average": 2.0,
        "histogram": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0},
    }
    moderated = await catalog.client.delete(
        f"{MODEL}/ratings/carol", headers=headers("root", admin=True)
    )
    assert moderated.json()["count"] == 0
    gone = await catalog.client.get(f"{MODEL}/ratings/carol", headers=headers("bob"))
    problem(gone, 404, "rating-not-found")
    events = await outbox_events(catalog, "modelbay.model.rating_removed")
    assert [(e["data"]["rated_by"], e["data"]["removed_by"]) for e in events] == [
        ("bob", "bob"),
        ("carol", "root"),
    ]


async def test_favourites_are_idempotent_counted_and_listed_while_visible(
    catalog: RunningCatalog,
) -> None:
    await public_model(catalog, "alice", "iris")
    await public_model(catalog, "alice", "wine")

    for _ in range(2):
        starred = await catalog.client.put(f"{MODEL}/favourite", headers=headers("bob"))
        assert starred.json() == {"favourited": True, "favourites": 1}
    await catalog.client.put("/internal/models/alice/wine/favourite", headers=headers("bob"))
    await catalog.client.put(f"{MODEL}/favourite", headers=headers("carol"))
    stats = (await catalog.client.get(f"{MODEL}/stats", headers=headers("bob"))).json()
    assert (stats["favourites"], stats["favourited"]) == (2, True)
    assert (await catalog.model("alice", "iris")).json()["favourites"] == 2

    mine = await catalog.client.get("/internal/favourites", headers=headers("bob"))
    assert [model["name"] for model in mine.json()] == ["wine", "iris"]
    private = {"description": "d", "category": "other", "license": "MIT", "visibility": "private"}
    await catalog.client.post(
        "/internal/models/alice/wine/publish", json=private, headers=headers("alice")
    )
    mine = await catalog.client.get("/internal/favourites", headers=headers("bob"))
    assert [model["name"] for model in mine.json()] == ["iris"]

    for _ in range(2):
        unstarred = await catalog.client.delete(f"{MODEL}/favourite", headers=headers("bob"))
        assert unstarred.json() == {"favourited": False, "favourites": 1}
    events = await outbox_events(catalog, "modelbay.model.")
    kinds = [
        (e["type"], e["data"]["favourited_by"], e["data"]["favourites"])
        for e in events
        if "favourited" in e["type"]
    ]
    assert kinds == [
        ("modelbay.model.favourited.v1", "bob", 1),
        ("modelbay.model.favourited.v1", "bob", 1),
        ("modelbay.model.favourited.v1", "carol", 2),
        ("modelbay.model.unfavourited.v1", "bob", 1),
    ]
    anonymous = await catalog.client.get("/internal/favourites", headers=headers())
    problem(anonymous, 401, "caller-required")


async def test_views_count_per_model_and_per_version(catalog: RunningCatalog) -> None:
    await public_model(catalog, "alice", "iris", versions=2)

    first = await catalog.client.post(f"{MODEL}/views", json={}, headers=headers())
    assert first.json() == {"model_views": 1, "version": None, "version_views": None}
    await catalog.client.post(f"{MODEL}/views", json={"version": 2}, headers=headers("bob"))
    second = await catalog.client.post(f"{MODEL}/views", json={"version": 2}, headers=headers())
    assert second.json() == {"model_views": 3, "version": 2, "version_views": 2}
    missing = await catalog.client.post(f"{MODEL}/views", json={"version": 7}, headers=headers())
    problem(missing, 404, "version-not-found")
    stats = (await catalog.client.get(f"{MODEL}/stats", headers=headers())).json()
    assert stats["views"] == 3
    assert stats["versions"] == [
        {"version": 1, "views": 0, "downloads": 0},
        {"version": 2, "views": 2, "downloads": 0},
    ]
    assert (await catalog.model("alice", "iris")).json()["views"] == 3


async def test_a_summary_written_around_the_use_cases_is_recounted_by_the_next_change(
    catalog: RunningCatalog,
) -> None:
    await public_model(catalog, "alice", "iris")
    async with catalog.service.sessions() as session, session.begin():
        # What a seeder might do: rating rows without the counters on the model row.
        await session.execute(
            text(
                "INSERT INTO catalog.ratings (model_id, username, stars) "
                "SELECT id, 'seeded' || n, 1 + n % 5 FROM catalog.models, generate_series(0, 9) n"
            )
        )

    status, _ = await rate(catalog, "seeded3", 5)  # an edit of a rating the tally never held

    assert status == 200
    stats = (await catalog.client.get(f"{MODEL}/stats", headers=headers())).json()
    recount = tally_of(await stars_in_rows(catalog))
    assert stats["ratings"]["count"] == recount.count == 10
    assert stats["ratings"]["histogram"] == recount.histogram_by_star()
