"""Search on real Postgres: full text, filters, visibility and keyset pagination."""

from __future__ import annotations

from typing import Any

import httpx
from catalog_events import RunningCatalog, built, headers, resolved, uploaded

PUBLISH = {"category": "classification", "license": "MIT"}


async def ready_model(catalog: RunningCatalog, owner: str, name: str, **upload: Any) -> None:
    await catalog.deliver(
        uploaded(owner, name, **upload), resolved(owner, name), built(owner, name)
    )


async def publish(
    catalog: RunningCatalog, owner: str, name: str, description: str, **extra: Any
) -> None:
    response = await catalog.client.post(
        f"/internal/models/{owner}/{name}/publish",
        json={**PUBLISH, "description": description, **extra},
        headers=headers(owner),
    )
    assert response.status_code == 200, response.text


async def search(catalog: RunningCatalog, caller: dict[str, str], **params: Any) -> httpx.Response:
    response = await catalog.client.get("/internal/models", params=params, headers=caller)
    assert response.status_code == 200, response.text
    return response


async def names(catalog: RunningCatalog, caller: dict[str, str], **params: Any) -> list[str]:
    body = (await search(catalog, caller, **params)).json()
    return [f"{item['owner']}/{item['name']}" for item in body["items"]]


async def test_finds_by_description_word_method_name_and_field_name(
    catalog: RunningCatalog,
) -> None:
    await ready_model(catalog, "alice", "iris", method="classify", inputs=("petal_width",))
    await publish(catalog, "alice", "iris", "Predicts the species of iris flowers")
    await ready_model(catalog, "alice", "houses", method="appraise", inputs=("floor_area",))
    await publish(catalog, "alice", "houses", "Estimates house prices", category="regression")
    anyone = headers("bob")

    assert await names(catalog, anyone, q="flowers") == ["alice/iris"]  # stemmed: flower
    assert await names(catalog, anyone, q="species") == ["alice/iris"]
    assert await names(catalog, anyone, q="appraise") == ["alice/houses"]
    assert await names(catalog, anyone, q="floor_area") == ["alice/houses"]
    assert await names(catalog, anyone, q="petal") == ["alice/iris"]
    assert await names(catalog, anyone, q="submarine") == []
    ranked = (await search(catalog, anyone, q="iris")).json()["items"]
    assert ranked[0]["rank"] > 0


async def test_filters_by_category_library_owner_and_status(catalog: RunningCatalog) -> None:
    await ready_model(catalog, "alice", "sk", requirements=("scikit-learn==1.5.2",))
    await publish(catalog, "alice", "sk", "a forest")
    await ready_model(catalog, "bob", "xgb", requirements=("xgboost==2.1.0", "numpy==2.1.0"))
    await publish(catalog, "bob", "xgb", "boosted trees", category="regression")
    await catalog.deliver(uploaded("bob", "wip", requirements=("torch==2.4.0",)))  # private
    admin = headers("root", admin=True)

    assert await names(catalog, admin, category="regression") == ["bob/xgb"]
    assert await names(catalog, admin, library="scikit_learn") == ["alice/sk"]  # normalised
    assert await names(catalog, admin, library="numpy") == ["bob/xgb"]
    assert await names(catalog, admin, owner="bob") == ["bob/wip", "bob/xgb"]
    assert await names(catalog, admin, status="uploaded") == ["bob/wip"]
    assert await names(catalog, admin, status="ready", owner="alice") == ["alice/sk"]
    bad = await catalog.client.get("/internal/models", params={"category": "toys"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.category"


async def test_private_models_are_invisible_to_other_users(catalog: RunningCatalog) -> None:
    await ready_model(catalog, "alice", "secret", description="secret sauce")

    assert await names(catalog, headers("bob"), q="sauce") == []
    assert await names(catalog, headers("bob")) == []
    assert await names(catalog, {}) == []  # anonymous
    missing = await catalog.model("alice", "nothing-here", user="bob")
    hidden = await catalog.model("alice", "secret", user="bob")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["title"] == missing.json()["title"]
    version = await catalog.client.get(
        "/internal/models/alice/secret/versions/1", headers=headers("bob")
    )
    assert version.status_code == 404
    # The owner and an admin see it.
    assert await names(catalog, headers("alice"), q="sauce") == ["alice/secret"]
    assert (await catalog.model("alice", "secret", user="root", admin=True)).status_code == 200


async def test_org_visibility_reaches_the_owners_organisation_only(
    catalog: RunningCatalog,
) -> None:
    await ready_model(catalog, "alice", "shared", owner_org="acme")
    await publish(catalog, "alice", "shared", "team model", visibility="org")

    assert (await catalog.model("alice", "shared", user="carol", org="acme")).status_code == 200
    assert await names(catalog, headers("carol", org="acme")) == ["alice/shared"]
    assert (await catalog.model("alice", "shared", user="dan", org="other")).status_code == 404
    assert (await catalog.model("alice", "shared", user="dan")).status_code == 404
    assert await names(catalog, headers("dan", org="other")) == []
    visibility = await catalog.client.get("/internal/visibility/alice/shared")
    assert visibility.json() == {
        "owner": "alice",
        "name": "shared",
        "visibility": "org",
        "owner_org": "acme",
    }
    assert (await catalog.client.get("/internal/visibility/alice/none")).status_code == 404


async def collect_pages(
    catalog: RunningCatalog, caller: dict[str, str], between_pages: Any = None, **params: Any
) -> list[str]:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = (await search(catalog, caller, **query)).json()
        seen.extend(f"{item['owner']}/{item['name']}" for item in body["items"])
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            return seen
        if between_pages is not None:
            await between_pages(pages)


async def test_pagination_is_complete_and_stable_while_models_are_added(
    catalog: RunningCatalog,
) -> None:
    for index in range(8):
        await ready_model(catalog, "alice", f"m{index}", description="gradient boosting")
        await publish(catalog, "alice", f"m{index}", "gradient boosting model")
    before = [f"alice/m{index}" for index in range(8)]
    reader = headers("bob")

    async def add_model(page: int) -> None:
        await ready_model(catalog, "alice", f"new{page}")
        await publish(catalog, "alice", f"new{page}", "gradient boosting, added mid-way")

    by_newest = await collect_pages(catalog, reader, between_pages=add_model)
    by_rank = await collect_pages(catalog, reader, between_pages=add_model, q="gradient boosting")

    for listing in (by_newest, by_rank):
        assert len(listing) == len(set(listing))  # no duplicates
        assert set(before) <= set(listing)  # nothing that existed was skipped
    assert [name for name in by_newest if name in before] == list(reversed(before))


async def test_a_cursor_only_continues_its_own_search(catalog: RunningCatalog) -> None:
    for index in range(3):
        await ready_model(catalog, "alice", f"c{index}")
    owner = headers("alice")
    cursor = (await search(catalog, owner, limit=1)).json()["next_cursor"]

    other_filters = await catalog.client.get(
        "/internal/models", params={"limit": 1, "cursor": cursor, "owner": "x"}, headers=owner
    )
    garbage = await catalog.client.get(
        "/internal/models", params={"cursor": "not-a-cursor"}, headers=owner
    )
    assert other_filters.status_code == 400
    assert garbage.status_code == 400
    assert garbage.json()["type"].endswith("/invalid-cursor")
