"""One-word searches rank from the search postings (migration 0017): the same ids, order, ranks
and cursor pages as the formula computed directly from each model's own `search_vector`, for a
word being typed, a finished word, a short prefix, a typo with its corrections, a word whose
stem is not its prefix, a stop word (its prefix alone), filters on the postings and off them,
every kind of caller, and after models are hidden, deleted, restored, moved and rewritten (the
trigger keeps the postings in step). The term each posting carries is ts_rank's own term for
its lexeme.

The reference (docs/decisions.md, "One-word searches rank from postings") reads `models` only,
never the postings: a model matches when its vector matches the search's tsquery; its rank is
the sum of `search_posting_score` over the lexemes of its vector that the tsquery matches, each
once, divided by the tsquery's distinct item strings, + 1 when the vector matches the word as
typed; visibility is the Core rule `visible_to` over `models`. The catalog is the benchmark's
reproducible generator (bench/catalog), 2,000 models, in a real PostgreSQL.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from benchmark_catalog import benchmark_seeded
from modelbay_catalog.orm import SCHEMA, ModelRow, PublishRequestRow
from modelbay_catalog.records import SearchCriteria
from modelbay_catalog.rules import normalize_package_name
from modelbay_catalog.service_queries import search_models
from modelbay_catalog.store import TEXT_SEARCH_CONFIG, search_document
from modelbay_catalog.store_search import SearchStore, not_deleted, visible_to
from modelbay_common.access import Caller, Membership, OrgRole
from modelbay_common.db import SessionFactory, transaction
from sqlalchemy import ColumnElement, case, cast, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, TSQUERY, array
from sqlalchemy.ext.asyncio import AsyncSession

MODELS = 2_000
PAGE, PAGES = 20, 3


@pytest.fixture(scope="module")
async def sessions(module_database_url: str) -> AsyncIterator[SessionFactory]:
    """The generated catalog, seeded the benchmark's way (postings written in bulk)."""
    async with benchmark_seeded(module_database_url, MODELS) as seeded:
        yield seeded


def item_count(query_text: str) -> int:
    """A tsquery's items as ts_rank counts them: its distinct quoted strings (tsrank.c,
    SortAndUniqItems compares the strings only, so `'w'` and `'w':*` are one item)."""
    return len(set(re.findall(r"'([^']*)'", query_text)))


def filters_on_models(criteria: SearchCriteria) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if criteria.category:
        found.append(ModelRow.category == criteria.category)
    if criteria.library:
        found.append(ModelRow.libraries.contains([normalize_package_name(criteria.library)]))
    if criteria.license:
        found.append(ModelRow.license == criteria.license)
    if criteria.owner:
        found.append(ModelRow.owner == criteria.owner)
    if criteria.status:
        found.append(ModelRow.latest_status == criteria.status)
    if criteria.kind:
        found.append(ModelRow.kind == criteria.kind)
    return found


async def reference_order(
    session: AsyncSession, caller: Caller, criteria: SearchCriteria, count: int
) -> list[tuple[int, float]]:
    """The first `count` (id, rank) by the formula, from `models.search_vector` alone."""
    assert criteria.q is not None
    match = await SearchStore(session).text_match(criteria.q)
    assert match.one_word is not None, criteria
    assert match.query_text, criteria
    query = cast(literal(match.query_text), TSQUERY)
    lexemes = func.unnest(ModelRow.search_vector).table_valued("lexeme", "weights").alias("l")
    matched_terms = (
        select(func.sum(func.catalog.search_posting_score(lexemes.c.weights)))
        .select_from(lexemes)
        .where(func.array_to_tsvector(array([lexemes.c.lexeme])).op("@@")(query))
        .correlate(ModelRow)
        .scalar_subquery()
    )
    exact = ModelRow.search_vector.op("@@")(
        func.plainto_tsquery(TEXT_SEARCH_CONFIG, match.exact_words)
    )
    rank = cast(matched_terms, DOUBLE_PRECISION) / cast(
        float(item_count(match.query_text)), DOUBLE_PRECISION
    ) + cast(case((exact, 1.0), else_=0.0), DOUBLE_PRECISION)
    statement = (
        select(ModelRow.id, rank)
        .where(
            not_deleted(),
            visible_to(caller),
            ModelRow.search_vector.op("@@")(query),
            *filters_on_models(criteria),
        )
        .order_by(rank.desc(), ModelRow.id.desc())
        .limit(count)
    )
    return [(int(model_id), float(value)) for model_id, value in await session.execute(statement)]


async def paged_order(
    session: AsyncSession, caller: Caller, criteria: SearchCriteria
) -> list[tuple[int, float]]:
    """What the catalog answers, following its cursors for `PAGES` pages."""
    found: list[tuple[int, float]] = []
    cursor: str | None = None
    for _ in range(PAGES):
        page = await search_models(SearchStore(session), caller, criteria, PAGE, cursor)
        found.extend((hit.model.id, float(hit.rank or 0.0)) for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


async def assert_same_orders(
    sessions: SessionFactory, callers: list[Caller], searches: list[SearchCriteria]
) -> None:
    matched: Counter[SearchCriteria] = Counter()
    async with transaction(sessions) as session:
        for caller in callers:
            for criteria in searches:
                expected = await reference_order(session, caller, criteria, PAGE * PAGES)
                matched[criteria] += len(expected)
                assert await paged_order(session, caller, criteria) == expected, (caller, criteria)
    for criteria in searches:
        assert matched[criteria], f"{criteria} matches nothing: the test would prove nothing"


async def assert_postings_in_step(session: AsyncSession) -> None:
    """The postings are exactly what the trigger would write for every model not deleted."""
    columns = "word, model_id, score, visibility, owner, owner_org, category"
    recomputed = (
        f"SELECT l.lexeme, m.id, {SCHEMA}.search_posting_score(l.weights), m.visibility, "
        f"m.owner, m.owner_org, m.category FROM {SCHEMA}.models AS m "
        "CROSS JOIN LATERAL unnest(m.search_vector) AS l WHERE m.deleted_at IS NULL"
    )
    stored = f"SELECT {columns} FROM {SCHEMA}.search_postings"
    for first, second in ((recomputed, stored), (stored, recomputed)):
        extra = await session.scalar(text(f"SELECT count(*) FROM ({first} EXCEPT {second}) AS d"))
        assert extra == 0
    assert await session.scalar(text(stored.replace(columns, "count(*)"))) > MODELS * 10


async def test_a_postings_score_is_ts_ranks_term_of_its_lexeme(sessions: SessionFactory) -> None:
    """For a query of one lexeme ts_rank is that lexeme's term (in float4): every posting's
    score agrees with it, for lexemes with one position or many, of every weight, and for a
    lexeme without positions."""
    async with transaction(sessions) as session:
        await assert_postings_in_step(session)
        rows = list(
            await session.execute(
                text(
                    f"SELECT p.score, ts_rank(s.search_vector, quote_literal(p.word)::tsquery), "
                    f"cardinality(l.weights) FROM {SCHEMA}.search_postings AS p "
                    f"JOIN {SCHEMA}.model_search AS s ON s.model_id = p.model_id "
                    "CROSS JOIN LATERAL unnest(s.search_vector) AS l "
                    "WHERE l.lexeme = p.word AND p.word ~ '^[a-z0-9]+$' AND p.model_id % 7 = 0"
                )
            )
        )
        unpositioned = await session.execute(
            text(
                f"SELECT {SCHEMA}.search_posting_score(NULL), "
                "ts_rank('word'::tsvector, 'word'::tsquery)"
            )
        )
        rows.extend((score, rank, 1) for score, rank in unpositioned)
    assert len(rows) > 5_000
    assert {positions for _, _, positions in rows} >= {1, 2}
    for score, rank, _ in rows:
        assert abs(score - rank) <= 1e-6 * rank + 2**-32, (score, rank)


async def test_b_one_word_pages_equal_the_formula_from_the_vectors(
    sessions: SessionFactory,
) -> None:
    async with transaction(sessions) as session:
        rows: list[Any] = list(
            await session.execute(
                select(
                    ModelRow.id,
                    ModelRow.owner,
                    ModelRow.name,
                    ModelRow.category,
                    ModelRow.license,
                    ModelRow.libraries,
                    ModelRow.visibility,
                    ModelRow.owner_org,
                )
            )
        )
        # A known word whose lexeme is not the word itself (the exact item and the prefix are
        # two items then), among the words of names.
        stemmed = await session.scalar(
            text(
                f"SELECT w.word FROM {SCHEMA}.search_words AS w "
                "WHERE length(w.word) >= 6 AND w.word ~ '^[a-z]+s$' "
                "AND plainto_tsquery('english', w.word)::text <> quote_literal(w.word) "
                "AND EXISTS (SELECT 1 FROM catalog.models AS m WHERE m.name LIKE '%' || w.word "
                "|| '%') ORDER BY w.word LIMIT 1"
            )
        )
        # A word that is its own lexeme and the start of another lexeme: typed, its prefix
        # range holds both, so it is summed although its own lexeme has postings.
        spans_two = await session.scalar(
            text(
                f"SELECT a.word FROM (SELECT DISTINCT word FROM {SCHEMA}.search_postings) AS a "
                "WHERE length(a.word) >= 4 AND a.word ~ '^[a-z]+$' "
                "AND plainto_tsquery('english', a.word)::text = quote_literal(a.word) "
                f"AND EXISTS (SELECT 1 FROM {SCHEMA}.search_postings AS b "  # '~' sorts after z
                "WHERE b.word > a.word AND b.word < a.word || '~') "
                "ORDER BY a.word LIMIT 1"
            )
        )
    assert stemmed is not None
    assert spans_two is not None
    words = Counter(word for row in rows for word in row.name.split("-") if len(word) >= 5)
    common, rare = words.most_common()[0][0], words.most_common()[-1][0]
    owner_with_private = Counter(r.owner for r in rows if r.visibility == "private").most_common()
    org = Counter(r.owner_org for r in rows if r.visibility == "org").most_common()[0][0]
    category = Counter(r.category for r in rows).most_common(1)[0][0]
    license_ = Counter(r.license for r in rows).most_common(1)[0][0]
    library = Counter(lib for r in rows for lib in r.libraries).most_common(1)[0][0]
    searches = [
        SearchCriteria(q=common),  # a word being typed: the word, and its prefix
        SearchCriteria(q=f"{common} "),  # a finished word: its postings in index order
        SearchCriteria(q=common[:3]),  # a short prefix of many lexemes
        SearchCriteria(q=rare),
        SearchCriteria(q=_typo(common)),  # unknown: corrections, and the typo as a prefix
        SearchCriteria(q=f"{_typo(common)} "),
        SearchCriteria(q=stemmed),
        SearchCriteria(q="for"),  # a stop word: its prefix only, no exact lexeme (no bonus)
        SearchCriteria(q=spans_two),  # its own lexeme, and another in its prefix range
        SearchCriteria(q=common, category=category),  # a filter the postings carry
        SearchCriteria(q=f"{common} ", category=category),
        SearchCriteria(q=common, license=license_),  # filters read from model_search
        SearchCriteria(q=f"{common} ", library=library, owner=org),
    ]
    # A one-word query is ranked two ways, both compared below: read in score order when its
    # items reach one lexeme of the catalog (a word being typed whose prefix range holds no
    # other; a typo whose own lexeme is absent and one correction present: no exact bonus),
    # summed per model when they reach several.
    async with transaction(sessions) as session:
        store, read_in_order = SearchStore(session), set()
        for criteria in searches:
            one_word = (await store.text_match(criteria.q or "")).one_word
            if one_word is not None:
                sole = one_word.sole_lexeme
                bonus = None if sole is None else one_word.bonus(sole)
                read_in_order.add((bonus, one_word.item_count))
    expected = {(1.0, 1), (1.0, 2), (0.0, 2), (None, 1)}
    assert expected <= read_in_order, read_in_order
    async with transaction(sessions) as session:
        spanning = (await SearchStore(session).text_match(spans_two)).one_word
    assert spanning is not None
    assert spanning.sole_lexeme is None, spanning
    pending = next(r.id for r in rows if r.visibility == "private" and common in r.name)
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
        Caller(user=owner_with_private[0][0]),
        Caller(user="reader-of-the-org", memberships=(Membership(org, OrgRole.READER),)),
        Caller(user="a-publisher", publisher=True),
        Caller(user="an-admin", admin=True),
    ]
    await assert_same_orders(sessions, callers, searches)

    # Models change through `models` only; the triggers keep model_search and the postings in
    # step: hide a top match, delete one, move one to another category, rewrite one's text,
    # make one visible to its organisation only, delete one and bring it back.
    async with transaction(sessions) as session:
        top = [model_id for model_id, _ in await reference_order(
            session, callers[0], SearchCriteria(q=common), 15
        )]  # fmt: skip
        await _change(session, top)
    async with transaction(sessions) as session:
        await assert_postings_in_step(session)
    await assert_same_orders(sessions, callers, searches)


async def _change(session: AsyncSession, top: list[int]) -> None:
    changes = {
        top[0]: {"visibility": "private"},
        top[3]: {"deleted_at": func.now()},
        top[6]: {"category": "clustering"},
        top[9]: {"description": f"nothing to see, {top[9]}"},
        top[12]: {"deleted_at": func.now()},
    }
    for model_id, values in changes.items():
        await session.execute(update(ModelRow).where(ModelRow.id == model_id).values(**values))
    await session.execute(
        update(ModelRow).where(ModelRow.id == top[9]).values(search_vector=search_document())
    )
    await session.execute(
        update(ModelRow)
        .where(ModelRow.id == top[1], ModelRow.owner_org.is_not(None))
        .values(visibility="org")
    )
    await session.execute(update(ModelRow).where(ModelRow.id == top[12]).values(deleted_at=None))


def _typo(word: str) -> str:
    """`word` with two neighbours in its middle swapped (a typo the vocabulary corrects)."""
    at = len(word) // 2
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
