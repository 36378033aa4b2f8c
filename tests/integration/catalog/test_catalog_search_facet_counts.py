"""Facet counts from the precomputed public counts (migration 0018, search_facets.py) are
exactly what counting the visible matches gives (search_sql.facets_sql): the same values, counts,
order and 20-value cut, for searches without `q`, a finished word, a word being typed, a typo, a
word matching nothing and queries that must fall back (a short prefix of many lexemes, two
words), without a filter, with a category, with a category and a license (fall back), for every
kind of caller; and again after models are hidden, published, made org-only, deleted, restored,
moved, relicensed, given other libraries, rewritten (lexemes appear and disappear) and
transferred. The table itself always equals the counts recomputed in Python from `model_search`
(the bulk fill the seeder runs, then the trigger). Two transactions writing models that share
lexemes both commit (the trigger upserts in key order).

The catalog is the benchmark's reproducible generator (bench/catalog), seeded the benchmark's
way (the counts filled in bulk with the trigger off), in a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from benchmark_catalog import benchmark_seeded
from modelbay_catalog import search_facets
from modelbay_catalog.orm import SCHEMA, ModelRow, PublishRequestRow
from modelbay_catalog.records import FacetCount, FacetName, Facets, SearchCriteria
from modelbay_catalog.search_facets import counted_word, facet_counts_apply
from modelbay_catalog.search_sql import FACET_VALUES, Parameters, facets_sql
from modelbay_catalog.service_queries import search_models
from modelbay_catalog.store import search_document
from modelbay_catalog.store_search import SearchStore
from modelbay_common.access import Caller, Membership, OrgRole
from modelbay_common.db import SessionFactory, transaction
from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncSession

MODELS = 600
Key = tuple[str, str, str, str]


@pytest.fixture(scope="module")
async def sessions(module_database_url: str) -> AsyncIterator[SessionFactory]:
    async with benchmark_seeded(module_database_url, MODELS) as seeded:
        yield seeded


async def recomputed_counts(session: AsyncSession) -> Counter[Key]:
    """The counts of public models, computed in Python from `model_search`'s rows."""
    counts: Counter[Key] = Counter()
    rows = await session.execute(
        text(
            "SELECT tsvector_to_array(search_vector), category, libraries, license, owner, kind "
            f"FROM {SCHEMA}.model_search WHERE visibility = 'public'"
        )
    )
    for lexemes, category, libraries, license_, owner, kind in rows:
        values = [("library", library) for library in libraries]
        values += [("license", license_), ("owner", owner), ("kind", kind)]
        for word in ["", *lexemes]:
            if category is not None:
                counts[(word, "", "category", category)] += 1
            for scope in ["", *([category] if category is not None else [])]:
                for facet, value in values:
                    if value is not None:
                        counts[(word, scope, facet, value)] += 1
    return counts


async def assert_counts_in_step(session: AsyncSession) -> None:
    stored = {
        (word, scope, facet, value): count
        for word, scope, facet, value, count in await session.execute(
            text(f"SELECT word, scope, facet, value, count FROM {SCHEMA}.search_facet_counts")
        )
    }
    assert min(stored.values()) >= 0
    positive = {key: count for key, count in stored.items() if count > 0}
    recomputed = await recomputed_counts(session)
    assert positive == dict(recomputed)
    assert len(recomputed) > MODELS * 10


async def counted_over_matches(
    session: AsyncSession, criteria: SearchCriteria, caller: Caller
) -> Facets:
    """The reference: facets_sql over the visible matching rows."""
    store = SearchStore(session)
    match = await store.text_match(criteria.q) if criteria.q else None
    params = Parameters()
    condition = None if match is None else f"s.search_vector @@ {match.query_sql(params)}"
    statement = facets_sql(criteria, caller, params, condition)
    found: Facets = {facet: [] for facet in FacetName}
    for facet, value, count in await (await store._driver()).fetch(statement, *params.values):
        found[FacetName(facet)].append(FacetCount(value=value, count=int(count)))
    return found


async def precomputed(session: AsyncSession, criteria: SearchCriteria, caller: Caller) -> bool:
    """Whether the catalog answers these facets from the precomputed counts."""
    if not facet_counts_apply(criteria, caller):
        return False
    store = SearchStore(session)
    match = await store.text_match(criteria.q) if criteria.q else None
    return counted_word(match is not None, None if match is None else match.one_word) is not None


async def assert_same_facets(
    sessions: SessionFactory, callers: list[Caller], searches: list[SearchCriteria]
) -> set[SearchCriteria]:
    """Every caller's facets of every search equal the reference; the searches answered from
    the precomputed counts (for a caller they apply to)."""
    taken: Counter[bool] = Counter()
    precomputed_searches: set[SearchCriteria] = set()
    cut = False
    async with transaction(sessions) as session:
        for caller in callers:
            for criteria in searches:
                page = await search_models(
                    SearchStore(session), caller, criteria, 5, None, with_facets=True
                )
                expected = await counted_over_matches(session, criteria, caller)
                assert page.facets == expected, (caller, criteria)
                answered_so = await precomputed(session, criteria, caller)
                taken[answered_so] += 1
                if answered_so:
                    precomputed_searches.add(criteria)
                cut = cut or any(len(v) == FACET_VALUES for v in expected.values())
    # Both ways are exercised (admins and publishers always count the matches), and some
    # facet has more values than are shown.
    assert taken[True] >= len(callers) - 2, taken
    assert taken[False] >= 2, taken
    assert cut
    return precomputed_searches


def _typo(word: str) -> str:
    at = len(word) // 2
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


async def test_facet_counts_equal_counting_the_matches(sessions: SessionFactory) -> None:
    async with transaction(sessions) as session:
        await assert_counts_in_step(session)  # the bulk fill
        rows: list[Any] = list(
            await session.execute(
                text(
                    f"SELECT id, owner, owner_org, name, category, license, visibility "
                    f"FROM {SCHEMA}.models ORDER BY id"
                )
            )
        )
    words = Counter(word for row in rows for word in row.name.split("-") if len(word) >= 5)
    common = words.most_common()[0][0]
    category = Counter(r.category for r in rows).most_common(1)[0][0]
    license_ = Counter(r.license for r in rows).most_common(1)[0][0]
    owner = Counter(r.owner for r in rows if r.visibility == "private").most_common(1)[0][0]
    org = Counter(r.owner_org for r in rows if r.owner_org).most_common(1)[0][0]
    async with transaction(sessions) as session:
        spread = await _word_whose_prefix_reaches_others(session)
    searches = [
        SearchCriteria(),
        SearchCriteria(category=category),
        SearchCriteria(q=common),  # a word being typed (one lexeme once narrowed)
        SearchCriteria(q=f"{common} "),  # a finished word
        SearchCriteria(q=f"{common} ", category=category),
        SearchCriteria(q=_typo(common)),  # a typo: its correction's lexeme
        SearchCriteria(q="zzqxv "),  # matches nothing
        SearchCriteria(q=spread),  # its prefix reaches other lexemes: some models lack its own
        SearchCriteria(q=spread, category=category),
        SearchCriteria(q=common[:3]),  # a short prefix of many lexemes: falls back
        SearchCriteria(q=f"{common} model"),  # two words: falls back
        SearchCriteria(q=f"{common} ", category=category, license=license_),  # falls back
    ]
    pending = next(r.id for r in rows if r.visibility == "private" and r.owner != owner)
    async with transaction(sessions) as session:
        session.add(
            PublishRequestRow(
                model_id=pending,
                version=1,
                visibility="public",
                description="",
                category=category,
                license=license_,
                requested_by="someone",
            )
        )
    callers = [
        Caller(),
        Caller(user="a-reader"),
        Caller(user=owner),
        Caller(user="an-org-reader", memberships=(Membership(org, OrgRole.READER),)),
        Caller(user="an-org-maintainer", memberships=(Membership(org, OrgRole.MAINTAINER),)),
        Caller(org=org),
        Caller(user="a-publisher", publisher=True),
        Caller(user="an-admin", admin=True),
    ]
    precomputed_searches = await assert_same_facets(sessions, callers, searches)
    # No q, a category, a word typed or finished, a typo, no match, a word whose prefix
    # reaches other lexemes: all from the counts; the short prefix, two words and a license
    # filter count the matches.
    assert precomputed_searches == set(searches[:9]), precomputed_searches ^ set(searches[:9])

    # Past FEW_OTHERS the statement counts the matches instead (its other, gated branch).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search_facets, "FEW_OTHERS", 0)
        await assert_same_facets(sessions, callers, [SearchCriteria(), *searches[7:9]])
    lifted = await _lift_into_the_top(sessions, [r.id for r in rows if r.visibility == "private"])
    await assert_same_facets(sessions, [*callers, Caller(user=lifted)], searches)
    async with transaction(sessions) as session:
        facets_of = [
            (await search_models(SearchStore(session), caller, SearchCriteria(), 1, None,
                                 with_facets=True)).facets
            for caller in (Caller(), Caller(user=lifted))
        ]  # fmt: skip
    unseen, seen = (facets[FacetName.OWNER] if facets else [] for facets in facets_of)
    assert lifted not in {c.value for c in unseen}
    assert lifted in {c.value for c in seen}

    # Models change through `models` only; the triggers keep model_search, the postings and
    # the counts in step.
    public = [r.id for r in rows if r.visibility == "public" and common in r.name]
    private = [r.id for r in rows if r.visibility == "private"]
    of_org = [r.id for r in rows if r.owner_org == org and r.visibility == "public"]
    changes: list[tuple[int, dict[str, Any]]] = [
        (public[0], {"visibility": "private"}),  # hide
        (private[0], {"visibility": "public"}),  # publish
        (private[1], {"visibility": "public", "owner": owner}),
        (of_org[0], {"visibility": "org"}),  # org-only
        (public[1], {"deleted_at": func.now()}),  # delete
        (public[2], {"deleted_at": func.now()}),
        (public[3], {"category": "clustering"}),  # move
        (public[4], {"license": "a-new-license", "libraries": ["numpy", "numpy", "brand-new"]}),
        (public[5], {"description": f"nothing to see, {public[5]} zorblat"}),  # rewrite
        (public[6], {"owner": "a-new-owner", "owner_org": None}),  # transfer
        (public[7], {"latest_status": "failed"}),  # not counted: the trigger skips it
        (public[2], {"deleted_at": None}),  # restore
    ]
    for model_id, values in changes:
        async with transaction(sessions) as session:
            await session.execute(update(ModelRow).where(ModelRow.id == model_id).values(**values))
            await session.execute(
                update(ModelRow)
                .where(ModelRow.id == model_id)
                .values(search_vector=search_document())
            )
    async with transaction(sessions) as session:
        await assert_counts_in_step(session)
    await assert_same_facets(sessions, callers, [*searches, SearchCriteria(q="zorblat ")])
    # Rewritten again: the lexeme `zorblat` disappears (its rows stay, at count 0).
    async with transaction(sessions) as session:
        rewritten = update(ModelRow).where(ModelRow.id == public[5])
        await session.execute(rewritten.values(description="plain again"))
        # Its own statement: an UPDATE's expressions see the row as it was before it.
        await session.execute(rewritten.values(search_vector=search_document()))
        await assert_counts_in_step(session)
        left = await session.scalar(
            text(f"SELECT max(count) FROM {SCHEMA}.search_facet_counts WHERE word = 'zorblat'")
        )
        assert left == 0
    await assert_same_facets(sessions, callers, [SearchCriteria(), SearchCriteria(q="zorblat ")])


async def _word_whose_prefix_reaches_others(session: AsyncSession) -> str:
    """A word (its own lexeme) whose prefix range holds other lexemes, with the most public
    models that have another of them but not the word's own lexeme."""
    found = await session.scalar(
        text(
            f"SELECT a.word FROM {SCHEMA}.search_postings AS a "
            f"JOIN {SCHEMA}.search_postings AS b ON b.word LIKE a.word || '_%' "
            "AND b.visibility = 'public' "
            "WHERE a.word ~ '^[a-z]{6,}$' "
            "AND plainto_tsquery('english', a.word)::text = quote_literal(a.word) "
            f"AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.search_postings AS c "
            "WHERE c.model_id = b.model_id AND c.word = a.word) "
            "GROUP BY a.word ORDER BY count(DISTINCT b.model_id) DESC, a.word LIMIT 1"
        )
    )
    assert found is not None
    return str(found)


async def _lift_into_the_top(sessions: SessionFactory, private: list[int]) -> str:
    """Give an owner outside the public top of owners just enough private models that, to
    themselves, they are in the top while, to everyone else, they are not: the merge must add
    their public count (read by primary key, outside the public top) to their live one."""
    async with transaction(sessions) as session:
        counts = [
            (str(value), int(count))
            for value, count in await session.execute(
                text(
                    f"SELECT value, count FROM {SCHEMA}.search_facet_counts WHERE word = '' "
                    "AND scope = '' AND facet = 'owner' AND count > 0 ORDER BY count DESC, value"
                )
            )
        ]
        twentieth = counts[FACET_VALUES - 1][1]
        lifted, public = next((v, c) for v, c in counts[FACET_VALUES:] if 1 < c < twentieth)
        moved = (
            await session.execute(
                text(
                    f"SELECT id FROM {SCHEMA}.models WHERE id = ANY(:ids) AND owner <> :o "
                    "AND deleted_at IS NULL ORDER BY id LIMIT :n"
                ),
                {"ids": private, "o": lifted, "n": twentieth + 1 - public},
            )
        ).scalars()
        await session.execute(
            update(ModelRow)
            .where(ModelRow.id.in_(list(moved)))
            .values(owner=lifted, owner_org=None)
        )
    return lifted


async def test_concurrent_writes_of_models_sharing_lexemes_both_commit(
    sessions: SessionFactory,
) -> None:
    """Each transaction rewrites one public model; the models share lexemes, so their upserts
    touch the same counts rows. In key order they queue behind each other and never deadlock."""
    async with transaction(sessions) as session:
        ids = [
            int(model_id)
            for model_id in (
                await session.execute(
                    text(
                        f"SELECT model_id FROM {SCHEMA}.model_search WHERE visibility = 'public' "
                        "ORDER BY model_id LIMIT 8"
                    )
                )
            ).scalars()
        ]

    async def rewrite(model_id: int, round_number: int) -> None:
        async with transaction(sessions) as session:
            rewritten = update(ModelRow).where(ModelRow.id == model_id)
            words = f"qwfrob qwzlat qwmorp {round_number} {model_id}"
            await session.execute(rewritten.values(description=words))
            await session.execute(rewritten.values(search_vector=search_document()))
            await asyncio.sleep(0.01)  # hold the rows while the others queue

    for round_number in range(6):
        await asyncio.gather(*(rewrite(model_id, round_number) for model_id in ids))
    async with transaction(sessions) as session:
        await assert_counts_in_step(session)
        shared = await session.scalar(
            text(
                f"SELECT sum(count) FROM {SCHEMA}.search_facet_counts "
                "WHERE word = 'qwfrob' AND scope = '' AND facet = 'owner'"
            )
        )
    assert shared == len(ids)
