"""Facet counts read from the precomputed counts of public models (migration 0018), merged with
the few rows a caller sees beyond the public ones, counted live: SQL text, pure (no I/O), run by
store_search.SearchStore.facets (docs/catalog.md, "Search"; docs/decisions.md, "Facet counts
precomputed for public models").

When it applies (`counted_word`): the matches are exactly the postings of one lexeme
(`OneWordQuery.sole_lexeme`), or there is no `q` (the pseudo word ''), or the query is a word
being typed without corrections whose prefix range holds other lexemes too (the word's public
counts, plus the public models reached only through the other lexemes, counted live); the only
filter is at most a category; and the caller is neither an administrator (sees everything) nor
a publisher (also sees models under review). Anything else is counted by search_sql.facets_sql.

Why the merge is exact: for one facet, let P(v) be a value's public count (the table), E(v) the
count of the other visible matches (live: the caller's rows beyond the public ones, and the
public models of the prefix range's other lexemes lacking the word; the visible matches are the
word's public models and these, disjoint), T = P + E, and the answer the
first FACET_VALUES values in (T descending, value) order. Take the candidates = the public top
(the first FACET_VALUES in (P descending, value) order, counts > 0) ∪ every value with E > 0.
A value v outside both has E(v) = 0, so T(v) = P(v), and each u of the public top is before it:
P(u) > P(v) gives T(u) ≥ P(u) > T(v); P(u) = P(v) with u < v gives T(u) ≥ T(v), a tie broken by
u < v. So FACET_VALUES values come before v and v is not in the answer: ranking the candidates
by T is the answer. A candidate's P is read from the public top or by primary key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from modelbay_common.access import Caller, Visibility

from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.postings_sql import OneWordQuery, prefix_range
from modelbay_catalog.records import FacetName, SearchCriteria
from modelbay_catalog.search_sql import FACET_VALUES, Parameters, beyond_public_sql, facets_sql

FACET_COUNTS = f"{SCHEMA}.search_facet_counts"
EVERY_MODEL = ""  # the pseudo word every public model is counted under: a search without `q`
ANY_CATEGORY = ""  # the scope of counts over every category
# The facets the table counts (`status` counts the caller's own models: always live).
COUNTED_FACETS = (
    FacetName.CATEGORY,
    FacetName.LIBRARY,
    FacetName.LICENSE,
    FacetName.OWNER,
    FacetName.KIND,
)
# The shortest word being typed whose prefix range's other lexemes are counted live; a shorter
# one reaches too many (3-letter prefixes: tens of thousands of postings at 100,000 models).
LONG_PREFIX = 5
# The most public models reached only through the range's other lexemes that are counted live
# (each read from `model_search` and its values looked up); beyond it counting the matches is
# cheaper (`sentence`: 3,869 such models, 47 ms live against 23 for facets_sql).
FEW_OTHERS = 200
_PUBLIC = Visibility.PUBLIC.value


def facet_counts_apply(criteria: SearchCriteria, caller: Caller) -> bool:
    """The filters and the caller allow the precomputed counts (the query may still not)."""
    other_filters = (
        criteria.library,
        criteria.license,
        criteria.owner,
        criteria.status,
        criteria.kind,
    )
    return not (caller.admin or caller.publisher or any(other_filters))


@dataclass(frozen=True)
class CountedWord:
    """Where a search's facets come from: the public counts of `word`, and, for a word being
    typed whose prefix range holds other lexemes too (`others`, the range), the public models
    of those other lexemes that lack `word`, counted live when there are few (FEW_OTHERS)."""

    word: str
    others: tuple[str, str] | None = None


def counted_word(has_query: bool, one_word: OneWordQuery | None) -> CountedWord | None:
    """'' without `q`; the one lexeme whose postings are exactly the matches
    (`OneWordQuery.sole_lexeme`); the word's own lexeme and its prefix range for a word being
    typed without corrections; else None (count the matches themselves)."""
    if not has_query:
        return CountedWord(EVERY_MODEL)
    if one_word is None:
        return None
    if one_word.sole_lexeme is not None:
        return CountedWord(one_word.sole_lexeme)
    exact, prefix = one_word.exact, one_word.prefix
    if exact is None or prefix is None or one_word.lexemes != (exact,):
        return None
    if len(prefix) < LONG_PREFIX:  # `dat`: its range's postings are most of the catalog
        return None
    return CountedWord(exact, prefix_range(prefix))


def facet_counts_sql(
    counted: CountedWord,
    criteria: SearchCriteria,
    caller: Caller,
    params: Parameters,
    query_sql: Callable[[Parameters], str] | None,
) -> str:
    """Every facet's values with their counts (facet, value, count rows, each facet's in
    (count descending, value) order), in one statement: the public top of each counted facet
    from the table, merged with the live rows beyond the public ones (matching the tsquery
    `query_sql` writes, if any) and with the public models of `counted.others` lacking its
    word, and `status` over the caller's own matching models."""
    at = params.add(counted.word, "text")
    in_category = params.add(criteria.category or ANY_CATEGORY, "text")
    limit = params.add(FACET_VALUES, "integer")

    # A facet ignores its own filter: the category facet always counts every category.
    category_facet = FacetName.CATEGORY.value
    live_scope = f"CASE WHEN e.facet = '{category_facet}' THEN '' ELSE {in_category} END"

    def scope_of(facet: FacetName) -> str:
        return "''" if facet is FacetName.CATEGORY else in_category

    public_top = " UNION ALL ".join(
        f"(SELECT t.facet, t.value, t.count::bigint AS count FROM {FACET_COUNTS} AS t "
        f"WHERE t.word = {at} AND t.scope = {scope_of(facet)} "
        f"AND t.facet = '{facet.value}' AND t.count > 0 "
        f"ORDER BY t.count DESC, t.value LIMIT {limit})"
        for facet in COUNTED_FACETS
    )
    beyond = beyond_public_sql(caller, params, "s")
    if beyond is None and counted.others is None:  # the public counts are the answer
        return (
            f"SELECT facet, value, count FROM ({public_top}) AS p ORDER BY facet, count DESC, value"
        )
    in_filter = f"live.category = {in_category}" if criteria.category else "TRUE"
    columns = "s.category, s.libraries, s.license, s.owner, s.kind, s.latest_status"
    ctes, parts, in_others, few_others = [], [], "FALSE", "TRUE"
    if counted.others is not None:
        low, high = (params.add(bound, "text") for bound in counted.others)
        # Public models reached through another lexeme of the range only: matches that the
        # word's public counts leave out (the postings' index, then its primary key).
        # At most FEW_OTHERS + 1 of them are looked for: more, and the matches are counted by
        # facets_sql instead, in the same statement (`few_others` gates the two ways).
        ctes.append(
            "others_found AS MATERIALIZED (SELECT p.model_id "
            f"FROM {SCHEMA}.search_postings AS p WHERE p.word >= {low} AND p.word < {high} "
            f"AND p.word <> {at} AND p.visibility = '{_PUBLIC}' AND NOT EXISTS (SELECT 1 "
            f"FROM {SCHEMA}.search_postings AS q WHERE q.model_id = p.model_id AND q.word = {at}) "
            f"LIMIT {params.add(FEW_OTHERS + 1, 'integer')})"
        )
        ctes.append("others AS (SELECT DISTINCT model_id FROM others_found)")
        few_others = f"(SELECT count(*) FROM others_found) <= {params.add(FEW_OTHERS, 'integer')}"
        in_others = "s.model_id IN (SELECT model_id FROM others)"
        mine = "" if beyond is None else f" AND ({beyond}) IS NOT TRUE"  # in the part below
        parts.append(
            f"SELECT {columns}, TRUE AS counted FROM {SCHEMA}.model_search AS s "
            f"WHERE {in_others}{mine}"
        )
    if beyond is not None:
        matching = "TRUE" if query_sql is None else f"s.search_vector @@ {query_sql(params)}"
        # The caller's rows are found by the owner / org indexes, then their vectors
        # rechecked: `OFFSET 0` keeps the match out of that scan. Without it the generic plan
        # of this prepared statement, guessing a tsquery matches 500 rows, ANDed the GIN
        # bitmap of the word (28,000 entries for a common one: 1.6 ms) with the caller's few.
        parts.append(
            f"SELECT {columns}, s.visibility <> '{_PUBLIC}' OR {in_others} AS counted "
            f"FROM (SELECT * FROM {SCHEMA}.model_search AS s WHERE {beyond} OFFSET 0) AS s "
            f"WHERE {matching}"
        )
    ctes.append(f"live AS MATERIALIZED ({' UNION ALL '.join(parts)})")
    live = ", ".join(ctes)
    extra = (
        "extra AS (SELECT e.facet, e.value, count(*) AS count FROM live CROSS JOIN LATERAL ("
        f"SELECT '{category_facet}'::text, live.category "
        f"UNION ALL SELECT 'library', unnest(live.libraries) WHERE {in_filter} "
        f"UNION ALL SELECT 'license', live.license WHERE {in_filter} "
        f"UNION ALL SELECT 'owner', live.owner WHERE {in_filter} "
        f"UNION ALL SELECT 'kind', live.kind WHERE {in_filter}"
        ") AS e(facet, value) WHERE live.counted AND e.value IS NOT NULL "
        "GROUP BY e.facet, e.value)"
    )
    # By primary key: `ctid` keeps the top-values index (index-only, but ordered by count
    # before value) from being chosen, which read a whole facet's range per value.
    public_of_extra = (
        f"(SELECT t.count FROM {FACET_COUNTS} AS t WHERE t.word = {at} "
        f"AND t.scope = {live_scope} AND t.facet = e.facet AND t.value = e.value "
        "AND t.ctid IS NOT NULL)"
    )
    totals = (
        "totals AS (SELECT coalesce(p.facet, e.facet) AS facet, "
        "coalesce(p.value, e.value) AS value, "
        f"coalesce(p.count, {public_of_extra}, 0) + coalesce(e.count, 0) AS count "
        f"FROM ({public_top}) AS p FULL JOIN extra AS e ON e.facet = p.facet AND e.value = p.value)"
    )
    merged = (
        "SELECT facet, value, count FROM (SELECT facet, value, count, row_number() OVER "
        "(PARTITION BY facet ORDER BY count DESC, value) AS place FROM totals) AS ranked "
        f"WHERE place <= {limit}"
    )
    branches = [merged]
    if caller.user:
        own = params.add(caller.user, "text")
        status_filter = f" AND {in_filter}" if criteria.category else ""
        branches.append(
            f"(SELECT '{FacetName.STATUS.value}', live.latest_status, count(*) FROM live "
            f"WHERE live.owner = {own} AND live.latest_status IS NOT NULL{status_filter} "
            f"GROUP BY live.latest_status ORDER BY count(*) DESC, live.latest_status LIMIT {limit})"
        )
    answer = f"SELECT facet, value, count FROM ({' UNION ALL '.join(branches)}) AS answer"
    if counted.others is not None and query_sql is not None:
        # Too many: the matches counted (a gated branch is never run: a one-time filter).
        matched = facets_sql(criteria, caller, params, f"s.search_vector @@ {query_sql(params)}")
        answer = (
            f"{answer} WHERE {few_others} UNION ALL "
            f"SELECT facet, value, count FROM ({matched}) AS counted WHERE NOT {few_others}"
        )
    return f"WITH {live}, {extra}, {totals} {answer} ORDER BY facet, count DESC, value"
