"""A one-word query's relevance page from the search postings (migration 0017), as SQL text with
positional parameters (pure: no I/O), run by store_search.py like search_sql.py's statements.

A one-word query (`word | corrections… | word:*`) matches the union of some lexemes' postings.
When the catalog holds only one of the lexemes its items reach (`OneWordQuery.sole_lexeme`: most
words being typed, since a stemmed catalog rarely holds a longer word starting with the typed
one, and most typos, whose own lexeme is absent and whose one correction is present), the page
reads that lexeme's postings in score order and stops after `limit` rows; otherwise it sums each
model's matched lexemes' scores (docs/decisions.md, "One-word searches rank from postings").
`tests/integration/catalog/test_catalog_search_postings.py` holds both to the formula.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from modelbay_common.access import Caller

from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.records import SearchCriteria
from modelbay_catalog.search_sql import Parameters, filters_sql, visible_sql
from modelbay_catalog.store_pages import summary_select_list

# Every score is a multiple of 2^-32 below 1 (migration 0017), which is what lets a cursor's
# rank be turned back into the score it came from, exactly (`OneWordQuery.score_of`).
SCORE_GRID = 2.0**32


@dataclass(frozen=True)
class OneWordQuery:
    """A one-word query as the lexemes its tsquery matches (`word | corrections… | word:*`):
    what the postings statement matches and ranks (docs/decisions.md, "One-word searches rank
    from postings"). Rank = the sum of the `score` of every lexeme of the model that any item
    matches, each lexeme once, divided by `item_count`, + 1.0 when the model has `exact`."""

    exact: str | None  # the word's own lexeme; None for a stop word (no exact bonus)
    lexemes: tuple[str, ...]  # the word's and its corrections' lexemes, distinct
    prefix: str | None  # the word as typed while it is being typed (a `:*` item)
    reaches_only: str | None = None
    """The one lexeme of the catalog that the query's items reach (`reached`, from the vocabulary
    lookup's answer): of `lexemes`, the ones with postings, and every lexeme in the prefix's
    range. None: several (or none)."""

    @property
    def item_count(self) -> int:
        """The query's items as ts_rank counts them: distinct strings, a prefix item and a
        lexeme item of the same text being one (tsrank.c, SortAndUniqItems)."""
        return len({*self.lexemes, *([self.prefix] if self.prefix else [])})

    def lexemes_outside_prefix(self) -> list[str]:
        """The lexemes the prefix range does not already read (each lexeme counts once)."""
        prefix = self.prefix
        return [lexeme for lexeme in self.lexemes if not (prefix and lexeme.startswith(prefix))]

    @property
    def finished_without_corrections(self) -> bool:
        """A finished word the catalog knows: it matches its own lexeme only, no need to ask."""
        return self.prefix is None and self.exact is not None and self.lexemes == (self.exact,)

    @property
    def sole_lexeme(self) -> str | None:
        """The one lexeme whose postings are exactly the query's matches, if there is one: its
        postings' index order (score, id) is then the rank order, so a page stops after
        `limit` postings (rank = score / item_count + `bonus`)."""
        if self.finished_without_corrections:
            return self.exact
        return self.reaches_only

    def bonus(self, lexeme: str) -> float:
        """The exact-match bonus of a model whose only matched lexeme is `lexeme`."""
        return 1.0 if lexeme == self.exact else 0.0

    def score_of(self, rank: float, lexeme: str) -> float:
        """The score whose rank (as the statement computes it in float8) is `rank`: exact,
        because a score is a multiple of 2^-32 below 1 and a rank's rounding error (below
        2^-52 · item_count) is far inside half of that grid's step divided by item_count."""
        unrounded = (rank - self.bonus(lexeme)) * self.item_count
        return round(unrounded * SCORE_GRID) / SCORE_GRID


def reached(posted: list[str], first: str | None, last: str | None) -> str | None:
    """The one lexeme a one-word query reaches, or None if not one: of its lexemes, those with
    postings (`posted`), and the first and last lexeme of its prefix range (search_sql.
    VOCABULARY_LOOKUP asks both: an index descent each)."""
    lexemes = {*posted, *(bound for bound in (first, last) if bound is not None)}
    return lexemes.pop() if len(lexemes) == 1 else None


def prefix_range(prefix: str) -> tuple[str, str]:
    """[prefix, upper) holds exactly the words starting with `prefix` in the "C" collation
    (byte order): `upper` is the prefix with its last character's code point raised by one
    (a query word is [a-z0-9]+, so no code point is at the top of its range)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def postings_page_sql(
    word: OneWordQuery,
    criteria: SearchCriteria,
    caller: Caller,
    params: Parameters,
    after: tuple[float, int] | None,
    limit: int,
) -> str:
    """A one-word relevance page from `search_postings` (index-only rows: word, score and the
    visibility and posted filter columns), in (rank, id) descending order, then only the page's
    rows read from `models`. The same rows and ranks as computing the rank from each match's
    vector (tests/integration/catalog/test_catalog_search_postings.py)."""
    # The filters the postings carry (migration 0017); the others are checked on model_search.
    posted = replace(SearchCriteria(), category=criteria.category, owner=criteria.owner)
    unposted = replace(criteria, q=None, sort=None, category=None, owner=None)
    kept = " AND ".join([visible_sql(caller, params, "p"), *filters_sql(posted, params, "p")])
    postings = f"{SCHEMA}.search_postings AS p"
    sole = word.sole_lexeme
    if sole is not None:
        items = params.add(float(word.item_count), "double precision")
        bonus = params.add(word.bonus(sole), "double precision")
        ranked = (
            f"SELECT p.model_id, p.score / {items} + {bonus} AS rank, p.score AS score "
            f"FROM {postings} WHERE p.word = {params.add(sole, 'text')} AND {kept}"
        )
        # The index order (score, id) is the rank order: the page stops after `limit` rows.
        order, boundary = "ranked.score DESC, ranked.model_id DESC", "ranked.score"
        after = None if after is None else (word.score_of(after[0], sole), after[1])
    else:
        branches = []
        outside = word.lexemes_outside_prefix()
        if outside:
            listed = params.add(outside, "text[]")
            branches.append(f"SELECT p.model_id, p.word, p.score FROM {postings} "
                            f"WHERE p.word = ANY({listed}) AND {kept}")  # fmt: skip
        if word.prefix:
            low, high = (params.add(bound, "text") for bound in prefix_range(word.prefix))
            branches.append(f"SELECT p.model_id, p.word, p.score FROM {postings} "
                            f"WHERE p.word >= {low} AND p.word < {high} AND {kept}")  # fmt: skip
        rank = f"sum(p.score) / {params.add(float(word.item_count), 'double precision')}"
        if word.exact is not None:
            exact = params.add(word.exact, "text")
            rank += (
                f" + CASE WHEN bool_or(p.word = {exact}) "
                "THEN 1.0::double precision ELSE 0.0::double precision END"
            )
        ranked = (
            f"SELECT p.model_id, {rank} AS rank FROM ({' UNION ALL '.join(branches)}) AS p "
            "GROUP BY p.model_id"
        )
        order, boundary = "ranked.rank DESC, ranked.model_id DESC", "ranked.rank"
    where = filters_sql(unposted, params, "s")
    join = f" JOIN {SCHEMA}.model_search AS s ON s.model_id = ranked.model_id" if where else ""
    if after is not None:
        value, model_id = after
        where.append(
            f"({boundary}, ranked.model_id) < "
            f"({params.add(value, 'double precision')}, {params.add(model_id, 'bigint')})"
        )
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    return (
        f"SELECT {summary_select_list('m')}, page.rank FROM ("
        f"SELECT ranked.model_id, ranked.rank FROM ({ranked}) AS ranked{join}{condition} "
        f"ORDER BY {order} LIMIT {params.add(limit, 'integer')}"
        f") AS page JOIN {SCHEMA}.models AS m ON m.id = page.model_id "
        "ORDER BY page.rank DESC, m.id DESC"
    )
