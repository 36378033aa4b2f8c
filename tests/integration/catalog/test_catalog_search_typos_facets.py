"""Search on real Postgres: typos (the vocabulary and its deletion variants), prefixes, facets
counted in one query, sorts with keyset pages that hold while models are added, and visibility
in the counts."""

from __future__ import annotations

from typing import Any

from catalog_events import RunningCatalog, headers, uploaded
from test_catalog_search import collect_pages, names, publish, ready_model, search


async def shared_model(
    catalog: RunningCatalog, owner: str, name: str, description: str, **extra: Any
) -> None:
    upload = {key: extra.pop(key) for key in ("requirements", "method", "inputs") if key in extra}
    await ready_model(catalog, owner, name, **upload)
    await publish(catalog, owner, name, description, **extra)


async def download(catalog: RunningCatalog, owner: str, name: str, times: int) -> None:
    for _ in range(times):
        response = await catalog.client.post(
            f"/internal/models/{owner}/{name}/versions/1/downloads",
            json={"kind": "bundle"},
            headers=headers("someone"),
        )
        assert response.status_code == 200, response.text


async def test_a_typo_finds_the_model(catalog: RunningCatalog) -> None:
    await shared_model(catalog, "alice", "iris", "Predicts the species of iris flowers")
    await shared_model(catalog, "bob", "pairs-trader", "Trades pairs of stocks")
    await shared_model(
        catalog, "carol", "sentiment", "A text summarizer for reviews", category="nlp"
    )
    reader = headers("dan")

    assert (await names(catalog, reader, q="iirs"))[0] == "alice/iris"  # swapped letters
    assert (await names(catalog, reader, q="iris flowrs"))[0] == "alice/iris"  # a dropped letter
    assert await names(catalog, reader, q="sumarizer") == ["carol/sentiment"]  # a long word
    assert await names(catalog, reader, q="sentimnt") == ["carol/sentiment"]
    assert await names(catalog, reader, q="flow") == ["alice/iris"]  # still typing: a prefix
    assert await names(catalog, reader, q="flow ") == []  # a finished word is not a prefix
    assert await names(catalog, reader, q="zzqx") == []


async def test_a_word_the_catalog_knows_is_not_corrected_and_exact_words_rank_first(
    catalog: RunningCatalog,
) -> None:
    await shared_model(catalog, "alice", "iris", "Predicts the species of iris flowers")
    await shared_model(catalog, "bob", "airs", "Air quality from airs sensors")
    reader = headers("dan")

    assert await names(catalog, reader, q="airs") == ["bob/airs"]  # not widened to iris
    found = (await search(catalog, reader, q="iirs")).json()["items"]
    assert {item["name"] for item in found} == {"iris", "airs"}  # both one edit away
    typed = (await search(catalog, reader, q="iris")).json()["items"]
    assert [item["name"] for item in typed] == ["iris"]
    assert typed[0]["rank"] > max(item["rank"] for item in found)  # typed exactly: bonus


async def test_websearch_syntax_is_kept_exact(catalog: RunningCatalog) -> None:
    await shared_model(catalog, "alice", "iris", "Predicts the species of iris flowers")
    await shared_model(catalog, "bob", "roses", "Predicts the colour of roses")
    reader = headers("dan")

    assert await names(catalog, reader, q="predicts -iris") == ["bob/roses"]
    assert await names(catalog, reader, q='"species of iris"') == ["alice/iris"]


def facet_counts(body: dict[str, Any], facet: str) -> dict[str, int]:
    return {entry["value"]: entry["count"] for entry in body["facets"][facet]}


async def test_facets_count_every_match_in_one_answer(catalog: RunningCatalog) -> None:
    sklearn = ("scikit-learn==1.5.2", "numpy==2.1.0")
    torch = ("torch==2.4.0", "numpy==2.1.0")
    await shared_model(catalog, "alice", "iris", "flower model", requirements=sklearn)
    await shared_model(catalog, "alice", "wine", "wine model", requirements=sklearn)
    await shared_model(
        catalog, "bob", "houses", "house model", requirements=sklearn, category="regression"
    )
    await shared_model(
        catalog,
        "bob",
        "resnet",
        "image model",
        requirements=torch,
        category="vision",
        license="Apache-2.0",
    )
    await shared_model(catalog, "carol", "other", "unrelated text", requirements=torch)
    reader = headers("dan")

    body = (await search(catalog, reader, q="model", facets="true", limit=1)).json()
    assert len(body["items"]) == 1  # the counts below cover all 4 matches, not the page
    assert body["next_cursor"]
    assert facet_counts(body, "category") == {
        "classification": 2,
        "regression": 1,
        "vision": 1,
    }
    assert facet_counts(body, "library") == {"numpy": 4, "scikit-learn": 3, "torch": 1}
    assert facet_counts(body, "license") == {"MIT": 3, "Apache-2.0": 1}
    assert facet_counts(body, "owner") == {"alice": 2, "bob": 2}
    assert body["facets"]["category"][0] == {"value": "classification", "count": 2}

    # A chosen facet keeps its other values (counted without its own filter); the other
    # facets count the filtered set.
    filtered = (
        await search(catalog, reader, q="model", category="regression", facets="true")
    ).json()
    assert [item["name"] for item in filtered["items"]] == ["houses"]
    assert facet_counts(filtered, "category") == {
        "classification": 2,
        "regression": 1,
        "vision": 1,
    }
    assert facet_counts(filtered, "owner") == {"bob": 1}
    assert facet_counts(filtered, "library") == {"numpy": 1, "scikit-learn": 1}
    by_library = (await search(catalog, reader, library="torch", facets="true")).json()
    assert {item["name"] for item in by_library["items"]} == {"resnet", "other"}
    assert facet_counts(by_library, "library") == {"numpy": 5, "scikit-learn": 3, "torch": 2}
    assert (await search(catalog, reader, q="model")).json()["facets"] is None  # not asked


async def test_private_models_are_never_counted_in_another_users_facets(
    catalog: RunningCatalog,
) -> None:
    await shared_model(catalog, "alice", "iris", "flower model")
    # Alice's private work in progress: another category, library and status.
    await catalog.deliver(uploaded("alice", "secret", requirements=("torch==2.4.0",)))
    await shared_model(catalog, "bob", "houses", "house model", category="regression")
    await catalog.deliver(uploaded("bob", "draft", requirements=("xgboost==2.1.0",)))

    bob = (await search(catalog, headers("bob"), facets="true")).json()
    alice = (await search(catalog, headers("alice"), facets="true")).json()
    anonymous = (await search(catalog, {}, facets="true")).json()

    assert facet_counts(bob, "owner") == {"alice": 1, "bob": 2}
    assert "torch" not in facet_counts(bob, "library")
    assert facet_counts(bob, "library") == {
        "numpy": 2,
        "scikit-learn": 2,
        "xgboost": 1,
    }
    assert facet_counts(bob, "status") == {"ready": 1, "uploaded": 1}  # his own only
    assert facet_counts(alice, "owner") == {"alice": 2, "bob": 1}
    assert facet_counts(alice, "library") == {"numpy": 2, "scikit-learn": 2, "torch": 1}
    assert facet_counts(alice, "status") == {"ready": 1, "uploaded": 1}
    assert facet_counts(anonymous, "owner") == {"alice": 1, "bob": 1}
    assert anonymous["facets"]["status"] == []
    # A typo does not reach a private model's words either.
    assert await names(catalog, headers("bob"), q="secrt") == []
    assert await names(catalog, headers("alice"), q="secrt") == ["alice/secret"]


async def test_sort_by_downloads_pages_hold_while_models_are_added(
    catalog: RunningCatalog,
) -> None:
    for index, times in enumerate((5, 1, 3, 0, 4, 2)):
        await shared_model(catalog, "alice", f"m{index}", "gradient boosting")
        await download(catalog, "alice", f"m{index}", times)
    reader = headers("bob")

    async def add_popular_model(page: int) -> None:
        await shared_model(catalog, "carol", f"new{page}", "gradient boosting, added mid-way")
        await download(catalog, "carol", f"new{page}", 10)

    listing = await collect_pages(catalog, reader, add_popular_model, sort="downloads")
    existing = [name for name in listing if name.startswith("alice/")]
    assert len(listing) == len(set(listing))
    assert existing == [f"alice/m{index}" for index in (0, 4, 2, 5, 1, 3)]
    first = (await search(catalog, reader, sort="downloads", limit=1)).json()
    assert first["sort"] == "downloads"
    assert first["items"][0]["downloads"] == 10

    typo_listing = await collect_pages(
        catalog, reader, add_popular_model, q="gradiant", sort="downloads"
    )
    assert [name for name in typo_listing if name.startswith("alice/")] == existing


async def test_relevance_pages_hold_while_models_are_added(catalog: RunningCatalog) -> None:
    descriptions = ["boosting", "gradient boosting trees", "gradient", "gradient boosting"]
    for index, description in enumerate(descriptions * 2):
        await shared_model(catalog, "alice", f"m{index}", description)
    reader = headers("bob")

    async def add_best_match(page: int) -> None:
        await shared_model(catalog, "carol", f"gradient-boosting-{page}", "gradient boosting")

    before = await collect_pages(catalog, reader, q="gradient boostng")
    during = await collect_pages(catalog, reader, add_best_match, q="gradient boostng")
    assert len(during) == len(set(during))
    assert [name for name in during if name.startswith("alice/")] == before
    assert set(before) == {f"alice/m{index}" for index in (1, 3, 5, 7)}


async def test_sort_and_facets_refuse_bad_input_and_cursors_of_another_sort(
    catalog: RunningCatalog,
) -> None:
    for index in range(3):
        await shared_model(catalog, "alice", f"m{index}", "model")
    reader = headers("bob")

    bad_sort = await catalog.client.get("/internal/models", params={"sort": "x"}, headers=reader)
    assert bad_sort.status_code == 422
    assert bad_sort.headers["content-type"].startswith("application/problem+json")
    assert bad_sort.json()["errors"][0]["field"] == "query.sort"
    bad_facets = await catalog.client.get(
        "/internal/models", params={"facets": "maybe"}, headers=reader
    )
    assert bad_facets.status_code == 422
    cursor = (await search(catalog, reader, sort="downloads", limit=1)).json()["next_cursor"]
    other_sort = await catalog.client.get(
        "/internal/models", params={"cursor": cursor, "sort": "recent"}, headers=reader
    )
    assert other_sort.status_code == 400
    # relevance without words falls back to the newest first, and says so
    assert (await search(catalog, reader, sort="relevance")).json()["sort"] == "recent"


async def rate(catalog: RunningCatalog, owner: str, name: str, *stars: int) -> None:
    for index, given in enumerate(stars):
        response = await catalog.client.put(
            f"/internal/models/{owner}/{name}/rating",
            json={"stars": given},
            headers=headers(f"rater{index}"),
        )
        assert response.status_code in (200, 201), response.text


async def test_sort_by_rating_damps_few_votes_and_puts_unrated_models_last(
    catalog: RunningCatalog,
) -> None:
    ratings = {"one-five": (5,), "many-good": (5, 5, 5, 5, 4, 5, 5, 5), "poor": (1, 2), "none": ()}
    for name, stars in ratings.items():
        await shared_model(catalog, "alice", name, "rated model")
        await rate(catalog, "alice", name, *stars)
    reader = headers("bob")

    listing = await collect_pages(catalog, reader, sort="rating", q="rated")
    assert listing == ["alice/many-good", "alice/one-five", "alice/poor", "alice/none"]
    assert (await search(catalog, reader, sort="rating")).json()["sort"] == "rating"
