"""The model search: typo-tolerant full text, filters, visibility, sorts with keyset pages, and
facet counts (docs/catalog.md, "Search").

Matching (`text_match`): the words of `q` are looked up in the vocabulary (`search_words`);
a word it does not know gets the known words within its allowed edits as alternatives
(spelling.py), and the last word, while it may still be being typed, also matches as a prefix.
A row matches when its weighted tsvector matches that query (GIN). Rank = `ts_rank` + 1 when
the row matches the words exactly as typed: exact words first, then corrections; both parts
depend on the row alone, so a row's rank never changes when other rows are added, which is what
keeps relevance pages stable. (Matching names by trigram similarity as well was dropped in
migration 0007: the vocabulary already corrects the words of names, hyphenated ones included,
and rechecking `name % q` cost more than the rest of a query at 100,000 models.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelbay_common.access import Caller, Visibility, acts_for
from sqlalchemy import (
    BigInteger,
    Select,
    Text,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from modelbay_catalog.cursor import SortKey
from modelbay_catalog.orm import SCHEMA, ModelRow, ModelSearchRow, PublishRequestRow
from modelbay_catalog.records import (
    FacetCount,
    FacetName,
    Facets,
    SearchCriteria,
    SearchHit,
    SearchSort,
)
from modelbay_catalog.rules import normalize_package_name
from modelbay_catalog.spelling import (
    corrections,
    query_words,
    uses_websearch_syntax,
    words_to_look_up,
)
from modelbay_catalog.store import SIMPLE_CONFIG, TEXT_SEARCH_CONFIG
from modelbay_catalog.store_pages import SUMMARY_COLUMNS, SUMMARY_WIDTH, summary_record

FACET_VALUES = 20  # the most frequent values of each facet; a page cannot show thousands
MIN_PREFIX = 3  # a shorter prefix matches too much of the catalog to be worth ranking
NEAREST_BY_TRIGRAM = 10

# The words a query's words may mean: the ones the vocabulary holds among the words and their
# one-edit variants (primary key), plus the trigram neighbours of the long words (GiST, `%`).
_KNOWN_WORDS = text(
    f"""
    SELECT word FROM {SCHEMA}.search_words WHERE word = ANY(:exact)
    UNION
    SELECT near.word FROM unnest(CAST(:long_words AS text[])) AS typed(term)
    CROSS JOIN LATERAL (
        SELECT word FROM {SCHEMA}.search_words WHERE word % typed.term
        ORDER BY word <-> typed.term LIMIT {NEAREST_BY_TRIGRAM}
    ) AS near
    """
).bindparams(
    bindparam("exact", type_=ARRAY(Text())),
    bindparam("long_words", type_=ARRAY(Text())),
)


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
    """How rows are matched and ranked for one `q`."""

    query: ColumnElement[Any]  # tsquery with corrections and the prefix
    exact: ColumnElement[Any]  # tsquery of the words as typed
    typed: str

    def condition(self, vector: Any = ModelRow.search_vector) -> ColumnElement[bool]:
        return vector.op("@@")(self.query)  # type: ignore[no-any-return]

    def rank(self, vector: Any = ModelRow.search_vector) -> ColumnElement[float]:
        exact_bonus = case((vector.op("@@")(self.exact), 1.0), else_=0.0)
        # float8 throughout, so the rank written into a cursor compares exactly next time.
        return func.ts_rank(vector, self.query).cast(DOUBLE_PRECISION) + exact_bonus.cast(
            DOUBLE_PRECISION
        )


def _words_query(word: str, alternatives: Sequence[str], prefix: bool) -> ColumnElement[Any]:
    parts = [func.plainto_tsquery(TEXT_SEARCH_CONFIG, term) for term in (word, *alternatives)]
    if prefix:
        # The word is [a-z0-9]+ (spelling.WORD), so `:*` cannot be confused with query syntax.
        parts.append(func.to_tsquery(SIMPLE_CONFIG, f"{word}:*"))
    return _combine(parts, "||")


def _combine(parts: Sequence[ColumnElement[Any]], operator: str) -> ColumnElement[Any]:
    """tsqueries joined with `||` (or) or `&&` (and)."""
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.op(operator)(part)
    return combined


def _filter_conditions(
    criteria: SearchCriteria, columns: Any, skip: FacetName | None = None
) -> list[ColumnElement[bool]]:
    """The exact filters on `columns` (the models table or the facets' matched rows), all but
    the facet `skip` (a facet counts its values as if its own filter were not set)."""
    filters: list[ColumnElement[bool]] = []
    if criteria.category and skip is not FacetName.CATEGORY:
        filters.append(columns.category == criteria.category)
    if criteria.library and skip is not FacetName.LIBRARY:
        # @> uses the GIN index on libraries.
        filters.append(columns.libraries.contains([normalize_package_name(criteria.library)]))
    if criteria.license and skip is not FacetName.LICENSE:
        filters.append(columns.license == criteria.license)
    if criteria.owner and skip is not FacetName.OWNER:
        filters.append(columns.owner == criteria.owner)
    if criteria.status and skip is not FacetName.STATUS:
        filters.append(columns.latest_status == criteria.status)
    if criteria.kind and skip is not FacetName.KIND:
        filters.append(columns.kind == criteria.kind)
    return filters


def not_deleted() -> ColumnElement[bool]:
    """A deleted model (deletion.py) is hidden from every search, administrators' too."""
    return ModelRow.deleted_at.is_(None)


class SearchStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def text_match(self, typed: str) -> TextMatch:
        """The tsquery of `typed`, with alternatives for the words the catalog does not know."""
        if uses_websearch_syntax(typed):
            query: ColumnElement[Any] = func.websearch_to_tsquery(TEXT_SEARCH_CONFIG, typed)
            return TextMatch(query=query, exact=query, typed=typed)
        parsed = query_words(typed)
        exact: ColumnElement[Any] = func.plainto_tsquery(TEXT_SEARCH_CONFIG, " ".join(parsed.words))
        if not parsed.words:
            return TextMatch(query=exact, exact=exact, typed=typed)
        lookup, long_words = words_to_look_up(parsed.words)
        known = await self._session.scalars(
            _KNOWN_WORDS, {"exact": lookup, "long_words": long_words}
        )
        alternatives = corrections(parsed.words, known)
        groups = [
            _words_query(
                word,
                alternatives.get(word, ()),
                prefix=word == parsed.prefix and len(word) >= MIN_PREFIX,
            )
            for word in parsed.words
        ]
        query = _combine(groups, "&&")
        return TextMatch(query=query, exact=exact, typed=typed)

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
        key = self._sort_value(sort, match)
        # The columns a hit shows, as Core rows: no ORM instance, no search vector (store_pages).
        columns: list[Any] = [*SUMMARY_COLUMNS, key]
        statement: Select[Any] = select(*columns).where(
            not_deleted(), visible_to(caller), *_filter_conditions(criteria, ModelRow)
        )
        if match is not None:
            statement = statement.where(match.condition())
        if sort is SearchSort.RECENT:
            statement = statement.order_by(ModelRow.id.desc())
            if after is not None:
                statement = statement.where(ModelRow.id < after.model_id)
        else:
            statement = statement.order_by(key.desc(), ModelRow.id.desc())
            if after is not None:
                boundary = self._boundary(sort, after)
                statement = statement.where(tuple_(key, ModelRow.id) < boundary)
        rows = (await self._session.execute(statement.limit(limit))).all()
        relevance = sort is SearchSort.RELEVANCE
        return [
            SearchHit(
                model=summary_record(row),
                rank=float(row[SUMMARY_WIDTH]) if relevance else None,
                sort_value=row[SUMMARY_WIDTH],
            )
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
        """A relevance page: every match is ranked on the narrow `model_search` (the same
        vector and filter columns as `models`, so the same rows in the same order), and only
        the page's rows are then read from `models` by primary key."""
        rank = match.rank(ModelSearchRow.search_vector)
        top = select(ModelSearchRow.model_id, rank.label("rank")).where(
            match.condition(ModelSearchRow.search_vector),
            visible_to(caller, ModelSearchRow),
            *_filter_conditions(criteria, ModelSearchRow),
        )
        if after is not None:
            boundary = self._boundary(SearchSort.RELEVANCE, after)
            top = top.where(tuple_(rank, ModelSearchRow.model_id) < boundary)
        page = top.order_by(rank.desc(), ModelSearchRow.model_id.desc()).limit(limit).subquery()
        columns: list[Any] = [*SUMMARY_COLUMNS, page.c.rank]
        statement = (
            select(*columns)
            .join_from(ModelRow, page, ModelRow.id == page.c.model_id)
            .order_by(page.c.rank.desc(), ModelRow.id.desc())
        )
        rows = (await self._session.execute(statement)).all()
        return [
            SearchHit(
                model=summary_record(row),
                rank=float(row[SUMMARY_WIDTH]),
                sort_value=row[SUMMARY_WIDTH],
            )
            for row in rows
        ]

    @staticmethod
    def _sort_value(sort: SearchSort, match: TextMatch | None) -> ColumnElement[Any]:
        if sort is SearchSort.RELEVANCE and match is not None:
            return match.rank()
        if sort is SearchSort.DOWNLOADS:
            return ModelRow.downloads.expression
        if sort is SearchSort.RATING:
            # A generated column (migration 0006): the stars' mean damped towards 3.
            return ModelRow.rating_score.expression
        return null().cast(DOUBLE_PRECISION)

    @staticmethod
    def _boundary(sort: SearchSort, after: SortKey) -> ColumnElement[Any]:
        if sort is SearchSort.DOWNLOADS:
            value = literal(int(after.value or 0), BigInteger)
        else:
            value = literal(float(after.value or 0.0), DOUBLE_PRECISION)
        return tuple_(value, literal(after.model_id, BigInteger))

    async def facets(
        self, criteria: SearchCriteria, caller: Caller, match: TextMatch | None
    ) -> Facets:
        """Every facet's values with their counts, in one statement over the visible matching
        rows (one scan; the matched rows are materialised once and grouped per facet). A facet
        ignores its own filter; `status` counts only the caller's own models. The rows are
        the narrow `model_search` copies (a deleted model has none)."""
        base = select(
            ModelSearchRow.category,
            ModelSearchRow.libraries,
            ModelSearchRow.license,
            ModelSearchRow.owner,
            ModelSearchRow.kind,
            ModelSearchRow.latest_status,
        ).where(visible_to(caller, ModelSearchRow))
        if match is not None:
            base = base.where(match.condition(ModelSearchRow.search_vector))
        matched = base.cte("matched").prefix_with("MATERIALIZED")
        branches = [
            self._facet_branch(facet, matched, criteria, caller)
            for facet in FacetName
            if facet is not FacetName.STATUS or caller.user
        ]
        found: Facets = {facet: [] for facet in FacetName}
        for facet, value, count in await self._session.execute(union_all(*branches)):
            found[FacetName(facet)].append(FacetCount(value=value, count=int(count)))
        return found

    @staticmethod
    def _facet_branch(
        facet: FacetName, matched: Any, criteria: SearchCriteria, caller: Caller
    ) -> Select[Any]:
        conditions = _filter_conditions(criteria, matched.c, skip=facet)
        if facet is FacetName.STATUS:
            conditions.append(matched.c.owner == caller.user)
        if facet is FacetName.LIBRARY:
            values = (
                select(func.unnest(matched.c.libraries).label("value"))
                .where(*conditions)
                .subquery()
            )
            column, source, conditions = values.c.value, values, []
        else:
            column = getattr(matched.c, "latest_status" if facet is FacetName.STATUS else facet)
            source = matched
        count = func.count().label("count")
        return (
            select(literal(facet.value).label("facet"), column.label("value"), count)
            .select_from(source)
            .where(column.is_not(None), *conditions)
            .group_by(column)
            .order_by(count.desc(), column)
            .limit(FACET_VALUES)
        )
