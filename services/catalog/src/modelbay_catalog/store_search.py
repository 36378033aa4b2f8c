"""The model search: typo-tolerant full text, filters, visibility, sorts with keyset pages, and
facet counts (docs/catalog.md, "Search").

Matching (`text_match`): the words of `q` are looked up in the vocabulary (`search_words`);
a word it does not know gets the known words within its allowed edits as alternatives
(spelling.py), and the last word, while it may still be being typed, also matches as a prefix.
A row matches when its weighted tsvector matches that query (GIN). Rank = `ts_rank` + 1 when
the row matches the words exactly as typed: exact words first, then corrections; both parts
depend on the row alone, so a row's rank never changes when other rows are added, which is what
keeps relevance pages stable. A one-word query (the common case: a word being typed, with its
corrections and prefix) is matched and ranked from the postings instead (migration 0017): the
same terms as `ts_rank`'s, in float8, each matched lexeme counted once (postings_sql.OneWordQuery;
docs/decisions.md, "One-word searches rank from postings"). (Matching names by trigram
similarity as well was dropped in migration 0007: the vocabulary already corrects the words of
names, hyphenated ones included, and rechecking `name % q` cost more than the rest of a query at
100,000 models.)

The statements a search sends are SQL text in search_sql.py, run as prepared statements on the
session's own asyncpg connection (docs/decisions.md, "The search's statements run on the
driver"); `visible_to` stays the Core twin of the visibility rule for the other stores.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import asyncpg
from modelbay_common.access import Caller, Visibility, acts_for
from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from modelbay_catalog.cursor import SortKey
from modelbay_catalog.orm import ModelRow, ModelSearchRow, PublishRequestRow
from modelbay_catalog.postings_sql import OneWordQuery, postings_page_sql, reached
from modelbay_catalog.records import (
    FacetCount,
    FacetName,
    Facets,
    SearchCriteria,
    SearchHit,
    SearchSort,
)
from modelbay_catalog.search_facets import counted_word, facet_counts_apply, facet_counts_sql
from modelbay_catalog.search_sql import (
    ENGLISH,
    VOCABULARY_LOOKUP,
    Parameters,
    facets_sql,
    filters_sql,
    rank_sql,
    ranked_page_sql,
    sorted_page_sql,
    visible_sql,
)
from modelbay_catalog.spelling import (
    allowed_edits,
    corrections,
    query_words,
    uses_websearch_syntax,
)
from modelbay_catalog.store_pages import SUMMARY_WIDTH, driver_connection, summary_record

MIN_PREFIX = 3  # a shorter prefix matches too much of the catalog to be worth ranking


# `models`, or its narrow copy for ranking and facets (migration 0016): the same filter columns.
SearchedTable = type[ModelRow] | type[ModelSearchRow]


def visible_to(caller: Caller, table: SearchedTable = ModelRow) -> ColumnElement[bool]:
    """The SQL twin of `modelbay_common.access.can_see`: which model rows `caller` may see
    (of `models`, or of its narrow search copy `model_search`, which has the same columns).

    It must give the same answers as the shared rule; tests/integration/catalog/
    test_catalog_contracts.py compares both on every kind of caller and model.
    """
    if caller.admin:
        return true()
    model_id = ModelSearchRow.model_id if table is ModelSearchRow else ModelRow.id
    conditions: list[ColumnElement[bool]] = [table.visibility == Visibility.PUBLIC.value]
    member_of = sorted(m.org for m in caller.memberships) if caller.user else []
    if caller.user:
        # The caller's own namespace and the organisations they maintain (`owns`).
        managed = [m.org for m in caller.memberships if acts_for(caller, m.org)]
        conditions.append(table.owner.in_([caller.user, *managed]))
    orgs = sorted({*member_of, *([caller.org] if caller.org else [])})
    if orgs:
        org_wide: ColumnElement[bool] = table.owner_org.in_(orgs)
        if member_of:
            org_wide = or_(org_wide, table.owner.in_(member_of))
        conditions.append(and_(table.visibility == Visibility.ORG.value, org_wide))
    if caller.publisher and caller.user:
        # `under_review`: a publish request of the model is pending (one per model at most).
        pending = select(PublishRequestRow.model_id).where(PublishRequestRow.status == "pending")
        conditions.append(model_id.in_(pending))
    return or_(*conditions) if conditions else false()


@dataclass(frozen=True)
class TextMatch:
    """How rows are matched and ranked for one `q`: the tsquery with corrections and the prefix
    (as text, put together from pieces the server made: `SearchStore.text_match`), and the
    words as typed for the exact-match bonus. A query in websearch syntax is its own tsquery."""

    typed: str
    query_text: str | None  # None: `typed` uses websearch syntax
    exact_words: str  # what `plainto_tsquery` makes the words as typed of
    alternatives: Mapping[str, tuple[str, ...]]  # corrections of the words the catalog lacks
    # A one-word query's items as lexemes: its relevance page ranks from the postings (None:
    # several words, websearch syntax, or a piece that is not one lexeme: ranked by ts_rank).
    one_word: OneWordQuery | None = None

    def query_sql(self, params: Parameters) -> str:
        """The tsquery as SQL over `params` (search_sql.py)."""
        if self.query_text is None:
            return f"websearch_to_tsquery({ENGLISH}, {params.add(self.typed, 'text')})"
        return params.add(self.query_text, "tsquery")

    def exact_sql(self, params: Parameters, query: str) -> str:
        """The tsquery of the words as typed, as SQL (`query`, the tsquery's, in websearch)."""
        if self.query_text is None:
            return query
        return f"plainto_tsquery({ENGLISH}, {params.add(self.exact_words, 'text')})"


def _any_of(parts: Sequence[str], operator: str) -> str:
    """tsquery texts joined with `|` or `&`, each parenthesised, the empty ones (a stop word)
    left out: the same tsquery the `||` and `&&` operators make of the same parts."""
    kept = [f"( {part} )" for part in parts if part]
    return f" {operator} ".join(kept)


# How the server writes a tsquery of one lexeme as text (lexemes of query words are [a-z0-9]+).
_LEXEME_ITEM = re.compile(r"'([a-z0-9]+)'")
_PREFIX_ITEM = re.compile(r"'([a-z0-9]+)':\*")


def _one_word_query(piece: str, corrections: Sequence[str], prefix: str) -> OneWordQuery | None:
    """The lexemes of a one-word query's tsquery pieces (the word's, its corrections', its
    prefix's, as the server made them; "" for a stop word), or None if a piece is anything but
    one plain lexeme (the query is then ranked by ts_rank, as every query was before 0017)."""
    lexemes: list[str] = []
    for text in (piece, *corrections):
        found = _LEXEME_ITEM.fullmatch(text)
        if text and found is None:
            return None
        if found is not None and found.group(1) not in lexemes:
            lexemes.append(found.group(1))
    prefix_found = _PREFIX_ITEM.fullmatch(prefix)
    if (prefix and prefix_found is None) or not (lexemes or prefix_found):
        return None
    exact = _LEXEME_ITEM.fullmatch(piece)
    return OneWordQuery(
        exact=exact.group(1) if exact else None,
        lexemes=tuple(lexemes),
        prefix=prefix_found.group(1) if prefix_found else None,
    )


def _one_word_reach(
    word: str,
    alternatives: Sequence[str],
    pieces: Mapping[str, str],
    rows: Sequence[asyncpg.Record],
    being_typed: bool,
) -> OneWordQuery | None:
    """A one-word query's lexemes (`_one_word_query`) marked with the one lexeme of the catalog
    they reach, if only one, from the vocabulary lookup's rows: which words' lexemes have
    postings, and the first and last lexeme of the typed word's prefix range (`pieces`: each
    word's tsquery text, from those rows)."""
    typed_row = next(row for row in rows if str(row[0]) == word and row[3] is not None)
    query = _one_word_query(
        pieces[word],
        [pieces[alternative] for alternative in alternatives],
        str(typed_row[3]) if being_typed else "",
    )
    if query is None:
        return None
    posted = {str(row[0]) for row in rows if row[4]}
    lexemes = [
        found.group(1)
        for known in (word, *alternatives)
        if known in posted and (found := _LEXEME_ITEM.fullmatch(pieces[known])) is not None
    ]
    return replace(query, reaches_only=reached(lexemes, typed_row[5], typed_row[6]))


def not_deleted() -> ColumnElement[bool]:
    """A deleted model (deletion.py) is hidden from every search, administrators' too."""
    return ModelRow.deleted_at.is_(None)


class SearchStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _driver(self) -> asyncpg.Connection:
        return await driver_connection(self._session)

    async def text_match(self, typed: str) -> TextMatch:
        """The tsquery of `typed`, with alternatives for the words the catalog does not know."""
        if uses_websearch_syntax(typed):
            return TextMatch(typed=typed, query_text=None, exact_words="", alternatives={})
        parsed = query_words(typed)
        exact_words = " ".join(parsed.words)
        if not parsed.words:
            return TextMatch(typed=typed, query_text="", exact_words="", alternatives={})
        correctable = [allowed_edits(word) >= 1 for word in parsed.words]
        long_words = [allowed_edits(word) >= 2 for word in parsed.words]
        being_typed = parsed.prefix if len(parsed.prefix or "") >= MIN_PREFIX else None
        rows = await (await self._driver()).fetch(
            VOCABULARY_LOOKUP,
            list(parsed.words),
            long_words,
            correctable,
            being_typed,
        )
        pieces = {str(row[0]): str(row[2]) for row in rows}
        prefixes = {str(row[0]): str(row[3]) for row in rows if row[3] is not None}
        known = {str(row[0]) for row in rows if row[1]}
        alternatives = corrections(parsed.words, known)
        groups = [
            _any_of(
                [
                    pieces[word],
                    *(pieces[alternative] for alternative in alternatives.get(word, ())),
                    prefixes[word] if word == being_typed else "",
                ],
                "|",
            )
            for word in parsed.words
        ]
        one_word = None
        if len(parsed.words) == 1:
            word = parsed.words[0]
            one_word = _one_word_reach(
                word, alternatives.get(word, ()), pieces, rows, word == being_typed
            )
        return TextMatch(
            typed=typed,
            query_text=_any_of(groups, "&"),
            exact_words=exact_words,
            alternatives=alternatives,
            one_word=one_word,
        )

    async def search(
        self,
        criteria: SearchCriteria,
        caller: Caller,
        match: TextMatch | None,
        after: SortKey | None,
        limit: int,
    ) -> list[SearchHit]:
        """Up to `limit` visible models matching, strictly after `after` in the search's order:
        (sort value, id) descending. The id never changes and breaks every tie, so a page
        boundary holds while models are added between requests."""
        sort = criteria.effective_sort
        if sort is SearchSort.RELEVANCE and match is not None:
            return await self._ranked(criteria, caller, match, after, limit)
        # Relevance without words cannot happen (effective_sort), so these are the other sorts.
        params = Parameters()
        conditions = [visible_sql(caller, params, "m", "id"), *filters_sql(criteria, params, "m")]
        if match is not None:
            conditions.append(f"m.search_vector @@ {match.query_sql(params)}")
        boundary = None
        if after is not None:
            value = int(after.value or 0) if sort is SearchSort.DOWNLOADS else after.value or 0.0
            boundary = (value, after.model_id)
        statement = sorted_page_sql(sort.value, conditions, params, boundary, limit)
        rows = await (await self._driver()).fetch(statement, *params.values)
        return [
            SearchHit(model=summary_record(tuple(row)), rank=None, sort_value=row[SUMMARY_WIDTH])
            for row in rows
        ]

    async def _ranked(
        self,
        criteria: SearchCriteria,
        caller: Caller,
        match: TextMatch,
        after: SortKey | None,
        limit: int,
    ) -> list[SearchHit]:
        """A relevance page, then only the page's rows read from `models` by primary key. A
        one-word query ranks from the postings (postings_sql.postings_page_sql); any other
        matches and ranks on the narrow `model_search` (the same vector and filter columns as
        `models`)."""
        params = Parameters()
        boundary = None if after is None else (float(after.value or 0.0), after.model_id)
        if match.one_word is not None:
            statement = postings_page_sql(match.one_word, criteria, caller, params, boundary, limit)
            return self._hits(await (await self._driver()).fetch(statement, *params.values))
        query = match.query_sql(params)
        rank = rank_sql("s.search_vector", query, match.exact_sql(params, query))
        conditions = [
            f"s.search_vector @@ {query}",
            visible_sql(caller, params, "s"),
            *filters_sql(criteria, params, "s"),
        ]
        statement = ranked_page_sql(conditions, rank, params, boundary, limit)
        return self._hits(await (await self._driver()).fetch(statement, *params.values))

    @staticmethod
    def _hits(rows: Sequence[asyncpg.Record]) -> list[SearchHit]:
        """A relevance page's rows: a hit's columns, then its rank."""
        return [
            SearchHit(
                model=summary_record(tuple(row)),
                rank=float(row[SUMMARY_WIDTH]),
                sort_value=row[SUMMARY_WIDTH],
            )
            for row in rows
        ]

    async def facets(
        self, criteria: SearchCriteria, caller: Caller, match: TextMatch | None
    ) -> Facets:
        """Every facet's values with their counts, in one statement: from the precomputed
        counts of public models merged with the caller's rows beyond them when the matches are
        one lexeme's postings (or there is no `q`) and the filter at most a category
        (search_facets.py), else over the visible matching rows (search_sql.facets_sql). A
        facet ignores its own filter; `status` counts only the caller's own models. The rows
        are the narrow `model_search` copies (a deleted model has none)."""
        params = Parameters()
        word = None
        if facet_counts_apply(criteria, caller):
            word = counted_word(match is not None, None if match is None else match.one_word)
        if word is not None:
            query = None if match is None else match.query_sql
            statement = facet_counts_sql(word, criteria, caller, params, query)
        else:
            condition = None
            if match is not None:
                condition = f"s.search_vector @@ {match.query_sql(params)}"
            statement = facets_sql(criteria, caller, params, condition)
        found: Facets = {facet: [] for facet in FacetName}
        for facet, value, count in await (await self._driver()).fetch(statement, *params.values):
            found[FacetName(facet)].append(FacetCount(value=value, count=int(count)))
        return found
