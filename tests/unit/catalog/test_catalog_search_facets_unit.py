"""When the facets are read from the precomputed public counts (search_facets.py) and which rows
of a caller are counted live; the answers themselves are compared with counting the matches in
tests/integration/catalog/test_catalog_search_facet_counts.py."""

from __future__ import annotations

from modelbay_catalog.postings_sql import OneWordQuery, prefix_range
from modelbay_catalog.records import SearchCriteria
from modelbay_catalog.search_facets import (
    EVERY_MODEL,
    CountedWord,
    counted_word,
    facet_counts_apply,
    facet_counts_sql,
)
from modelbay_catalog.search_sql import Parameters, beyond_public_sql
from modelbay_common.access import Caller, Membership, OrgRole


def test_the_words_whose_counts_answer_a_search() -> None:
    assert counted_word(False, None) == CountedWord(EVERY_MODEL)
    finished = OneWordQuery(exact="user", lexemes=("user",), prefix=None)
    assert counted_word(True, finished) == CountedWord("user")
    narrowed = OneWordQuery(exact="user", lexemes=("user",), prefix="user", reaches_only="user")
    assert counted_word(True, narrowed) == CountedWord("user")
    spread = OneWordQuery(exact="vision", lexemes=("vision",), prefix="vision")
    assert counted_word(True, spread) == CountedWord("vision", prefix_range("vision"))
    # A short prefix reaches too many lexemes; corrections, a stop word, several words: none.
    assert counted_word(True, OneWordQuery(exact="dat", lexemes=("dat",), prefix="dat")) is None
    typo = OneWordQuery(exact="forcast", lexemes=("forcast", "forecast"), prefix="forcast")
    assert counted_word(True, typo) is None
    assert counted_word(True, OneWordQuery(exact=None, lexemes=(), prefix="for")) is None
    assert counted_word(True, None) is None


def test_only_a_category_filter_and_plain_callers_use_the_counts() -> None:
    reader = Caller(user="reader")
    assert facet_counts_apply(SearchCriteria(q="x", category="nlp"), reader)
    assert facet_counts_apply(SearchCriteria(), Caller())
    for criteria in (
        SearchCriteria(library="numpy"),
        SearchCriteria(license="MIT"),
        SearchCriteria(owner="o"),
        SearchCriteria(status="ready"),
        SearchCriteria(kind="model"),
    ):
        assert not facet_counts_apply(criteria, reader), criteria
    assert not facet_counts_apply(SearchCriteria(), Caller(user="a", admin=True))
    assert not facet_counts_apply(SearchCriteria(), Caller(user="p", publisher=True))


def test_the_rows_beyond_the_public_ones() -> None:
    assert beyond_public_sql(Caller(), Parameters(), "s") is None
    params = Parameters()
    # A lone owner is `= $n` (the prepared statement keeps its generic plan).
    assert beyond_public_sql(Caller(user="u"), params, "s") == "(s.owner = $1::text)"
    assert params.values == ["u"]
    params = Parameters()
    maintainer = Caller(user="u", memberships=(Membership("org", OrgRole.MAINTAINER),))
    found = beyond_public_sql(maintainer, params, "s")
    assert found is not None
    assert "s.owner = ANY($1::text[])" in found
    assert "s.visibility = 'org'" in found
    assert params.values[0] == ["u", "org"]


def test_an_anonymous_one_lexeme_search_reads_the_counts_only() -> None:
    statement = facet_counts_sql(
        CountedWord("user"), SearchCriteria(), Caller(), Parameters(), None
    )
    assert "model_search" not in statement
    assert "search_facet_counts" in statement
