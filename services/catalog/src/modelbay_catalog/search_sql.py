"""The search's hot statements as SQL text with positional parameters (pure: no I/O), run by
store_search.py as prepared statements on the driver connection the session already holds
(docs/benchmarks.md, "Catalog search", session 5; docs/decisions.md).

Why text: through SQLAlchemy a search cost 5.8–8 ms of catalog CPU against 1.0–1.35 ms for the
same SQL on asyncpg (building the expression and its cache key, the async execution path, result
set-up). The statements here are the same ones the Core expressions in store_search.py built:
`tests/integration/catalog/test_catalog_search_narrow_order.py` compares their ids, ranks and
cursor pages with a reference statement, and `test_catalog_contracts.py` compares
`visible_sql` with the shared rule (`modelbay_common.access.can_see`). A one-word relevance page
reads the search postings instead (postings_sql.py, migration 0017), held to its formula by
`test_catalog_search_postings.py`.

A statement's text depends only on the shape of a search (which filters are set, what kind of
caller, whether a cursor is given), never on its values, so asyncpg's per-connection statement
cache prepares each shape once.
"""

from __future__ import annotations

from collections.abc import Sequence

from modelbay_common.access import Caller, Visibility, acts_for

from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.records import FacetName, SearchCriteria
from modelbay_catalog.rules import normalize_package_name
from modelbay_catalog.spelling import MAX_EDITS
from modelbay_catalog.store_pages import summary_select_list

FACET_VALUES = 20  # the most frequent values of each facet; a page cannot show thousands
ENGLISH = "'english'::regconfig"
_PUBLIC = Visibility.PUBLIC.value
_ORG = Visibility.ORG.value


class Parameters:
    """The positional parameters of one statement: `add` keeps a value and gives its
    placeholder, typed so that the server never has to guess."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def add(self, value: object, sql_type: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{sql_type}"


# The words of a query the vocabulary knows, and the known words an unknown one may mean: the
# vocabulary words sharing a deletion variant with it (symmetric deletes, spelling.py says why
# that finds every word within its allowed edits). The unknown word's variants are made by the
# server, by the same function that made the vocabulary's (migration 0019's
# `search_word_deletes_of`, inlined: one SELECT), for the unknown words only, and each is one
# primary-key probe of `search_word_deletes` (56 for a word of ten letters, instead of ~900
# one-edit variants and a trigram search); a candidate whose length is out of the word's reach
# is dropped here, one further away by the true distance in spelling.corrections (about 0.3 per
# typo word on the bench). Each word comes back with its own tsquery as text (`plainto_tsquery`,
# and `to_tsquery('simple', word:*)` for a prefix), so the search's tsquery is put together in
# Python from pieces the server made (spelling.py says which).
# For a one-word query (`$1` of one word) each row also says whether its word's lexeme has search
# postings, and the word being typed (`$4`, or NULL) the first and last lexeme of its prefix
# range: what postings_sql.reached needs to tell whether the query reaches one lexeme only (an
# index descent each, in the same round trip as the lookup).
_ONE_WORD = "cardinality($1::text[]) = 1"
_LEXEME_OF = "substring(plainto_tsquery({english}, {word})::text FROM '^''([a-z0-9]+)''$')"


def _posted(word: str) -> str:
    lexeme = _LEXEME_OF.format(english=ENGLISH, word=word)
    return (
        f"({_ONE_WORD} AND EXISTS (SELECT 1 FROM {SCHEMA}.search_postings AS p "
        f"WHERE p.word = {lexeme}))"
    )


def _range_end(aggregate: str) -> str:
    return (
        f"(SELECT {aggregate}(p.word) FROM {SCHEMA}.search_postings AS p "
        "WHERE r.low IS NOT NULL AND p.word >= r.low "
        "AND p.word < left(r.low, -1) || chr(ascii(right(r.low, 1)) + 1))"
    )


VOCABULARY_LOOKUP = f"""
WITH typed AS MATERIALIZED (
    SELECT t.word, t.long, t.correctable,
           EXISTS (SELECT 1 FROM {SCHEMA}.search_words AS w WHERE w.word = t.word) AS known
    FROM unnest($1::text[], $2::boolean[], $3::boolean[]) AS t(word, long, correctable)
), unknown AS MATERIALIZED (
    SELECT word, CASE WHEN long THEN {MAX_EDITS} ELSE 1 END AS budget
    FROM typed WHERE NOT known AND correctable
), candidates AS (
    SELECT DISTINCT d.word
    FROM unknown AS u
    CROSS JOIN LATERAL {SCHEMA}.search_word_deletes_of(u.word, u.budget) AS v(variant)
    JOIN {SCHEMA}.search_word_deletes AS d ON d.variant = v.variant
    WHERE abs(length(d.word) - length(u.word)) <= u.budget
)
SELECT t.word, t.known AS known, plainto_tsquery({ENGLISH}, t.word)::text AS query,
       to_tsquery('simple'::regconfig, t.word || ':*')::text AS prefix,
       {_posted("t.word")} AS posted, {_range_end("min")} AS first, {_range_end("max")} AS last
FROM typed AS t
CROSS JOIN LATERAL (
    SELECT CASE WHEN {_ONE_WORD} AND t.word = $4::text
                THEN substring(to_tsquery('simple'::regconfig, t.word || ':*')::text
                               FROM '^''([a-z0-9]+)'':\\*$')
           END AS low
) AS r
UNION ALL
SELECT c.word, true, plainto_tsquery({ENGLISH}, c.word)::text, NULL, {_posted("c.word")},
       NULL, NULL
FROM candidates AS c
"""


def visible_sql(caller: Caller, params: Parameters, alias: str, model_id: str = "model_id") -> str:
    """The SQL twin of `modelbay_common.access.can_see` over `model_search AS alias` (or
    `models`, whose id column is `id`): the same rule as store_search.visible_to, as text."""
    if caller.admin:
        return "TRUE"
    conditions = [f"{alias}.visibility = '{_PUBLIC}'"]
    beyond = beyond_public_sql(caller, params, alias)
    if beyond is not None:
        conditions.append(beyond)
    if caller.publisher and caller.user:
        # `under_review`: a publish request of the model is pending (one per model at most).
        conditions.append(
            f"{alias}.{model_id} IN (SELECT model_id FROM {SCHEMA}.publish_requests "
            "WHERE status = 'pending')"
        )
    return "(" + " OR ".join(conditions) + ")"


def beyond_public_sql(caller: Caller, params: Parameters, alias: str) -> str | None:
    """The part of the visibility rule beyond the public models and the publisher's review
    queue: the caller's own and their managed organisations' models, and org-visible models of
    their organisations (or None for an anonymous caller). `visible_sql` is public OR this OR
    the review queue; search_facets.py counts these rows live (own public rows included: the
    `status` facet counts them; the merge counts only the non-public ones)."""
    conditions: list[str] = []
    member_of = sorted(m.org for m in caller.memberships) if caller.user else []
    if caller.user:
        managed = [m.org for m in caller.memberships if acts_for(caller, m.org)]
        if managed:
            owners = params.add([caller.user, *managed], "text[]")
            conditions.append(f"{alias}.owner = ANY({owners})")
        else:
            # `= $n`, not `= ANY(array of one)`: the generic plan of the prepared statement
            # then expects a few rows (an owner's), not 259, so Postgres keeps it instead of
            # planning every execution anew (0.6 ms of a 0.8 ms statement).
            conditions.append(f"{alias}.owner = {params.add(caller.user, 'text')}")
    orgs = sorted({*member_of, *([caller.org] if caller.org else [])})
    if orgs:
        org_wide = f"{alias}.owner_org = ANY({params.add(orgs, 'text[]')})"
        if member_of:
            org_wide = f"({org_wide} OR {alias}.owner = ANY({params.add(member_of, 'text[]')}))"
        conditions.append(f"({alias}.visibility = '{_ORG}' AND {org_wide})")
    return "(" + " OR ".join(conditions) + ")" if conditions else None


def filters_sql(
    criteria: SearchCriteria, params: Parameters, alias: str, skip: FacetName | None = None
) -> list[str]:
    """The exact filters on `alias`'s columns, all but the facet `skip` (a facet counts its
    values as if its own filter were not set)."""
    found: list[str] = []
    if criteria.category and skip is not FacetName.CATEGORY:
        found.append(f"{alias}.category = {params.add(criteria.category, 'text')}")
    if criteria.library and skip is not FacetName.LIBRARY:
        library = [normalize_package_name(criteria.library)]
        found.append(f"{alias}.libraries @> {params.add(library, 'text[]')}")  # GIN-able
    if criteria.license and skip is not FacetName.LICENSE:
        found.append(f"{alias}.license = {params.add(criteria.license, 'text')}")
    if criteria.owner and skip is not FacetName.OWNER:
        found.append(f"{alias}.owner = {params.add(criteria.owner, 'text')}")
    if criteria.status and skip is not FacetName.STATUS:
        found.append(f"{alias}.latest_status = {params.add(criteria.status, 'text')}")
    if criteria.kind and skip is not FacetName.KIND:
        found.append(f"{alias}.kind = {params.add(criteria.kind, 'text')}")
    return found


def rank_sql(vector: str, query: str, exact: str) -> str:
    """`ts_rank` + 1 when the row matches the words exactly as typed, in float8 so the rank
    written into a cursor compares exactly next time."""
    return (
        f"CAST(ts_rank({vector}, {query}) AS double precision) + "
        f"CAST(CASE WHEN {vector} @@ {exact} THEN 1.0 ELSE 0.0 END AS double precision)"
    )


def ranked_page_sql(
    conditions: Sequence[str],
    rank: str,
    params: Parameters,
    after: tuple[float, int] | None,
    limit: int,
) -> str:
    """A relevance page: every match ranked on `model_search AS s`, then only the page's rows
    read from `models` by primary key, in (rank, id) descending order."""
    where = list(conditions)
    if after is not None:
        value, model_id = after
        where.append(
            f"({rank}, s.model_id) < "
            f"({params.add(value, 'double precision')}, {params.add(model_id, 'bigint')})"
        )
    return (
        f"SELECT {summary_select_list('m')}, page.rank FROM ("
        f"SELECT s.model_id, {rank} AS rank FROM {SCHEMA}.model_search AS s "
        f"WHERE {' AND '.join(where)} "
        f"ORDER BY rank DESC, s.model_id DESC LIMIT {params.add(limit, 'integer')}"
        f") AS page JOIN {SCHEMA}.models AS m ON m.id = page.model_id "
        "ORDER BY page.rank DESC, m.id DESC"
    )


# The sort value of the other orders, over `models AS m` (`recent` is the id alone).
SORT_VALUES = {
    "downloads": ("m.downloads", "bigint"),
    "rating": ("m.rating_score", "double precision"),
    "recent": ("CAST(NULL AS double precision)", "double precision"),
}


def sorted_page_sql(
    sort: str,
    conditions: Sequence[str],
    params: Parameters,
    after: tuple[float | int, int] | None,
    limit: int,
) -> str:
    """A page of `models AS m` in (sort value, id) descending order (`recent`: id descending),
    strictly after `after`; the sort value is the last column."""
    key, key_type = SORT_VALUES[sort]
    where = ["m.deleted_at IS NULL", *conditions]
    if sort == "recent":
        order = "m.id DESC"
        if after is not None:
            where.append(f"m.id < {params.add(after[1], 'bigint')}")
    else:
        order = f"{key} DESC, m.id DESC"
        if after is not None:
            value, model_id = after
            where.append(
                f"({key}, m.id) < ({params.add(value, key_type)}, {params.add(model_id, 'bigint')})"
            )
    return (
        f"SELECT {summary_select_list('m')}, {key} FROM {SCHEMA}.models AS m "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {params.add(limit, 'integer')}"
    )


def facets_sql(
    criteria: SearchCriteria, caller: Caller, params: Parameters, match_condition: str | None
) -> str:
    """Every facet's values with their counts over the visible matching rows, in one statement:
    the matched rows are materialised once and grouped per facet. `status` counts only the
    caller's own models (and is left out for an anonymous caller)."""
    where = [visible_sql(caller, params, "s")]
    if match_condition is not None:
        where.append(match_condition)
    matched = (
        "WITH matched AS MATERIALIZED (SELECT s.category, s.libraries, s.license, s.owner, "
        f"s.kind, s.latest_status FROM {SCHEMA}.model_search AS s WHERE {' AND '.join(where)})"
    )
    limit = params.add(FACET_VALUES, "integer")
    branches = [
        _facet_branch(facet, criteria, caller, params, limit)
        for facet in FacetName
        if facet is not FacetName.STATUS or caller.user
    ]
    return matched + " " + " UNION ALL ".join(branches)


def _facet_branch(
    facet: FacetName, criteria: SearchCriteria, caller: Caller, params: Parameters, limit: str
) -> str:
    conditions = filters_sql(criteria, params, "matched", skip=facet)
    if facet is FacetName.STATUS:
        conditions.append(f"matched.owner = {params.add(caller.user, 'text')}")
    name = params.add(facet.value, "text")
    if facet is FacetName.LIBRARY:
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        source = f"(SELECT unnest(matched.libraries) AS value FROM matched {where}) AS unnested"
        column, conditions = "unnested.value", []
    else:
        column = "matched.latest_status" if facet is FacetName.STATUS else f"matched.{facet.value}"
        source = "matched"
    where = " AND ".join([f"{column} IS NOT NULL", *conditions])
    return (
        f"(SELECT {name} AS facet, {column} AS value, count(*) AS count FROM {source} "
        f"WHERE {where} GROUP BY {column} ORDER BY count DESC, {column} LIMIT {limit})"
    )
