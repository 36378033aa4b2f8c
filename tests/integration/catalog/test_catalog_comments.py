"""Threaded comments per version through the catalog's internal API on real Postgres: replies,
edit and delete own, another user's comment is a 403 while the model is visible, moderation,
placeholders, pages of threads, and an event in the outbox for every change."""

from __future__ import annotations

from typing import Any

from catalog_events import RunningCatalog, headers
from catalog_social import outbox_events, private_model, problem, public_model

COMMENTS = "/internal/models/alice/iris/versions/1/comments"
ADMIN = {"user": "root", "admin": True}


async def post(
    catalog: RunningCatalog, user: str, body: str, parent_id: int | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"body": body}
    if parent_id is not None:
        payload["parent_id"] = parent_id
    response = await catalog.client.post(COMMENTS, json=payload, headers=headers(user))
    assert response.status_code == 201, response.text
    posted: dict[str, Any] = response.json()
    return posted


async def threads(catalog: RunningCatalog, **caller: Any) -> dict[str, Any]:
    response = await catalog.client.get(COMMENTS, headers=headers(**caller))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def shape(items: list[dict[str, Any]]) -> list[Any]:
    """(author, state, body, replies) of each comment, nested."""
    return [(c["author"], c["state"], c["body"], shape(c["replies"])) for c in items]


async def test_comments_nest_and_their_authors_edit_and_delete_them(
    catalog: RunningCatalog,
) -> None:
    await public_model(catalog, "alice", "iris", versions=2)
    question = await post(catalog, "bob", "Does it take petal length?")
    answer = await post(catalog, "alice", "Yes, in cm.", question["id"])
    thanks = await post(catalog, "bob", "Thanks!", answer["id"])
    other = await post(catalog, "carol", "Nice model")

    edited = await catalog.client.patch(
        f"{COMMENTS}/{other['id']}", json={"body": "Very nice model"}, headers=headers("carol")
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["body"], edited.json()["edited_at"] is not None) == (
        "Very nice model",
        True,
    )
    same = await catalog.client.patch(
        f"{COMMENTS}/{other['id']}", json={"body": "Very nice model"}, headers=headers("carol")
    )
    assert same.json() == edited.json()  # nothing changed, and no second event below
    page = await threads(catalog, user="dave")
    assert shape(page["items"]) == [
        (
            "bob",
            "visible",
            "Does it take petal length?",
            [("alice", "visible", "Yes, in cm.", [("bob", "visible", "Thanks!", [])])],
        ),
        ("carol", "visible", "Very nice model", []),
    ]
    assert page["total"] == 4

    deleted = await catalog.client.delete(f"{COMMENTS}/{question['id']}", headers=headers("bob"))
    assert deleted.status_code == 204
    await catalog.client.delete(f"{COMMENTS}/{other['id']}", headers=headers("carol"))
    page = await threads(catalog)
    # The question keeps a placeholder (it has replies); the lonely comment is gone.
    assert shape(page["items"]) == [
        (
            "bob",
            "deleted",
            None,
            [("alice", "visible", "Yes, in cm.", [("bob", "visible", "Thanks!", [])])],
        )
    ]
    assert page["total"] == 2
    # Comments belong to one version: version 2 has none.
    other_version = await catalog.client.get(
        COMMENTS.replace("/versions/1/", "/versions/2/"), headers=headers()
    )
    assert other_version.json()["items"] == []

    events = await outbox_events(catalog, "modelbay.model.comment_")
    assert [(e["type"].split(".")[2], e["data"]["comment_id"]) for e in events] == [
        ("comment_posted", question["id"]),
        ("comment_posted", answer["id"]),
        ("comment_posted", thanks["id"]),
        ("comment_posted", other["id"]),
        ("comment_edited", other["id"]),
        ("comment_deleted", question["id"]),
        ("comment_deleted", other["id"]),
    ]
    assert events[1]["data"]["parent_id"] == question["id"]
    assert events[1]["subject"] == "alice/iris/1"


async def test_another_users_comment_is_403_and_a_deleted_one_cannot_change(
    catalog: RunningCatalog,
) -> None:
    await public_model(catalog, "alice", "iris")
    comment = await post(catalog, "bob", "First")
    url = f"{COMMENTS}/{comment['id']}"

    problem(
        await catalog.client.patch(url, json={"body": "Mine now"}, headers=headers("carol")),
        403,
        "not-comment-author",
    )
    problem(await catalog.client.delete(url, headers=headers("carol")), 403, "not-comment-author")
    # An administrator moderates but never rewrites someone's words.
    problem(
        await catalog.client.patch(url, json={"body": "x"}, headers=headers(**ADMIN)),
        403,
        "not-comment-author",
    )
    await catalog.client.delete(url, headers=headers("bob"))
    problem(
        await catalog.client.patch(url, json={"body": "Back"}, headers=headers("bob")),
        409,
        "comment-deleted",
    )
    reply = await catalog.client.post(
        COMMENTS, json={"body": "Reply", "parent_id": comment["id"]}, headers=headers("carol")
    )
    problem(reply, 409, "comment-deleted")
    again = await catalog.client.delete(url, headers=headers("bob"))
    assert again.status_code == 204
    deletions = await outbox_events(catalog, "modelbay.model.comment_deleted")
    assert len(deletions) == 1


async def test_bad_comments_and_unknown_ids_are_problems(catalog: RunningCatalog) -> None:
    await public_model(catalog, "alice", "iris", versions=2)
    comment = await post(catalog, "bob", "On version 1")

    for body in ({"body": ""}, {"body": "   "}, {"body": "x" * 5001}, {}):
        response = await catalog.client.post(COMMENTS, json=body, headers=headers("bob"))
        assert problem(response, 422, "validation-error")["errors"][0]["field"] == "body.body"
    unknown = await catalog.client.patch(
        f"{COMMENTS}/999999", json={"body": "x"}, headers=headers("bob")
    )
    assert problem(unknown, 404, "comment-not-found")["comment_id"] == 999999
    # The comment exists, but not on version 2.
    elsewhere = COMMENTS.replace("/versions/1/", "/versions/2/") + f"/{comment['id']}"
    problem(
        await catalog.client.patch(elsewhere, json={"body": "x"}, headers=headers("bob")),
        404,
        "comment-not-found",
    )
    orphan = await catalog.client.post(
        COMMENTS, json={"body": "x", "parent_id": 424242}, headers=headers("bob")
    )
    problem(orphan, 404, "comment-not-found")
    huge = await catalog.client.delete(f"{COMMENTS}/{2**70}", headers=headers("bob"))
    problem(huge, 422, "validation-error")
    problem(
        await catalog.client.get(COMMENTS.replace("/1/", "/9/"), headers=headers()),
        404,
        "version-not-found",
    )
    problem(
        await catalog.client.post(COMMENTS, json={"body": "hi"}, headers=headers()),
        401,
        "caller-required",
    )
    problem(
        await catalog.client.get(COMMENTS + "?cursor=abc", headers=headers()),
        400,
        "invalid-cursor",
    )


async def test_administrators_hide_and_delete_anyones_comment(catalog: RunningCatalog) -> None:
    await public_model(catalog, "alice", "iris")
    rude = await post(catalog, "bob", "Rude words")
    reply = await post(catalog, "carol", "Please be kind", rude["id"])
    spam = await post(catalog, "dave", "Buy things")
    moderation = {"hidden": True, "reason": "Be civil"}

    refused = await catalog.client.put(
        f"{COMMENTS}/{rude['id']}/moderation", json=moderation, headers=headers("alice")
    )
    problem(refused, 403, "moderator-required")
    hidden = await catalog.client.put(
        f"{COMMENTS}/{rude['id']}/moderation", json=moderation, headers=headers(**ADMIN)
    )
    assert hidden.status_code == 200, hidden.text
    assert (hidden.json()["state"], hidden.json()["moderation_reason"]) == ("hidden", "Be civil")
    deleted = await catalog.client.delete(f"{COMMENTS}/{spam['id']}", headers=headers(**ADMIN))
    assert deleted.status_code == 204

    seen_by_others = shape((await threads(catalog, user="erin"))["items"])
    assert seen_by_others == [("bob", "hidden", None, [("carol", "visible", "Please be kind", [])])]
    assert shape((await threads(catalog, user="bob"))["items"])[0][2] == "Rude words"
    assert shape((await threads(catalog, **ADMIN))["items"])[0][2] == "Rude words"
    assert reply["parent_id"] == rude["id"]

    shown = await catalog.client.put(
        f"{COMMENTS}/{rude['id']}/moderation", json={"hidden": False}, headers=headers(**ADMIN)
    )
    assert (shown.json()["state"], shown.json()["body"]) == ("visible", "Rude words")
    events = await outbox_events(catalog, "modelbay.model.comment_")
    changes = [
        (e["type"], e["data"].get("hidden"), e["data"].get("deleted_by"))
        for e in events
        if "posted" not in e["type"]
    ]
    assert changes == [
        ("modelbay.model.comment_hidden.v1", True, None),
        ("modelbay.model.comment_deleted.v1", None, "root"),
        ("modelbay.model.comment_hidden.v1", False, None),
    ]


async def test_pages_of_threads_carry_whole_threads(catalog: RunningCatalog) -> None:
    await public_model(catalog, "alice", "iris")
    roots = [await post(catalog, "bob", f"Thread {index}") for index in range(5)]
    await post(catalog, "carol", "Reply to the first", roots[0]["id"])
    await post(catalog, "carol", "Reply to the last", roots[4]["id"])

    seen: list[Any] = []
    cursor: str | None = None
    while True:
        url = COMMENTS + "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await catalog.client.get(url, headers=headers())).json()
        seen.extend(shape(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [thread[2] for thread in seen] == [f"Thread {index}" for index in range(5)]
    assert [len(thread[3]) for thread in seen] == [1, 0, 0, 0, 1]


async def test_an_invisible_models_comments_are_a_404_even_to_their_ids(
    catalog: RunningCatalog,
) -> None:
    await private_model(catalog, "alice", "iris")
    mine = await post(catalog, "alice", "Note to self")
    for method in ("PATCH", "DELETE"):
        response = await catalog.client.request(
            method, f"{COMMENTS}/{mine['id']}", json={"body": "x"}, headers=headers("bob")
        )
        problem(response, 404, "model-not-found")
