"""The catalog benchmark's code runs (bench/catalog): seed 200 generated models with their
versions, downloads and ratings into a migrated catalog, search them with a typo, a facet count
and each sort, and explain a search; and its CPU accounting finds a database's backends and
counts the ones that exited. It measures nothing: speed is `make bench-catalog`."""

from __future__ import annotations

import importlib
import random
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest
from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.records import SearchCriteria, SearchSort
from modelbay_catalog.service_queries import search_models
from modelbay_catalog.store_search import SearchStore
from modelbay_common.access import Caller
from modelbay_common.db import create_engine, session_factory, transaction
from modelbay_common.migrations import upgrade

BENCH = Path(__file__).resolve().parents[3] / "bench" / "catalog"


@pytest.fixture
def catalogbench(monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    monkeypatch.syspath_prepend(str(BENCH))
    return {
        name: importlib.import_module(f"catalogbench.{name}")
        for name in ("generate", "load", "seed", "plans", "scenarios", "stack")
    }


async def test_the_benchmark_seeds_and_its_searches_answer(
    catalogbench: dict[str, ModuleType], fresh_database_url: str
) -> None:
    await upgrade(SCHEMA, fresh_database_url)
    stack, seed = catalogbench["stack"], catalogbench["seed"]
    report = await seed.seed(
        stack.plain_dsn(fresh_database_url), models=200, downloads=2000, ratings=1000, seed_value=3
    )
    assert (report.models, report.downloads, report.ratings) == (200, 2000, 1000)
    assert report.versions >= 200
    assert report.vocabulary > 50

    reader = Caller(user="bench-reader")
    sessions = session_factory(create_engine(fresh_database_url))
    generated = list(catalogbench["generate"].models(3, 200))
    public = next(model for model in generated if model.visibility == "public")
    word = public.name.split("-")[1]  # the domain, e.g. `fraud`
    typed = catalogbench["scenarios"].typo(word, random.Random(1))
    async with transaction(sessions) as session:
        store = SearchStore(session)
        exact = await search_models(store, reader, SearchCriteria(q=word), 500, None)
        misspelt = await search_models(store, reader, SearchCriteria(q=typed), 500, None)
        faceted = await search_models(
            store, reader, SearchCriteria(q=word), 5, None, with_facets=True
        )
        by_sort = {
            sort: await search_models(store, reader, SearchCriteria(sort=sort), 5, None)
            for sort in (SearchSort.DOWNLOADS, SearchSort.RATING, SearchSort.RECENT)
        }
    assert (public.owner, public.name) in {(hit.model.owner, hit.model.name) for hit in exact.hits}
    assert {hit.model.id for hit in exact.hits} <= {hit.model.id for hit in misspelt.hits}
    assert faceted.facets is not None
    assert sum(count.count for count in faceted.facets["category"]) == len(exact.hits)
    downloads = [hit.model.downloads for hit in by_sort[SearchSort.DOWNLOADS].hits]
    assert downloads == sorted(downloads, reverse=True)
    assert all(hit.model.visibility.value != "private" for hit in by_sort[SearchSort.RECENT].hits)

    plans = await catalogbench["plans"].explain_search(
        fresh_database_url, reader, {"q": typed, "facets": "true"}
    )
    # The vocabulary lookup (which also says which lexemes the typo reaches), the page, the facets.
    assert len(plans) == 3
    assert all("Execution Time" in plan.plan for plan in plans)


async def test_the_benchmark_counts_the_cpu_of_backends_that_exited(
    catalogbench: dict[str, ModuleType], fresh_database_url: str
) -> None:
    load, stack = catalogbench["load"], catalogbench["stack"]
    database = fresh_database_url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(stack.plain_dsn(fresh_database_url))
    try:
        found = load.postgres_cpu_seconds(database)
    finally:
        await connection.close()
    # The one backend, and the reaped-children total of its parent (the postmaster).
    assert load.REAPED in found, found
    assert len(found) == 2, found
    # A backend that exited between two readings is counted once, by the reaped total, for
    # the seconds it used after the first reading only.
    before = {101: 2.0, 102: 5.0, load.REAPED: 10.0}
    after = {101: 2.5, 103: 0.25, load.REAPED: 16.0}
    assert load._used(before, after) == pytest.approx(0.5 + 0.25 + 6.0 - 5.0)
