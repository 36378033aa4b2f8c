"""A one-word query's items as the postings statement reads them (postings_sql.OneWordQuery) and
how they are read from the server's tsquery pieces (store_search._one_word_query); the pages
themselves are held to the formula in tests/integration/catalog/test_catalog_search_postings.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from modelbay_catalog.postings_sql import SCORE_GRID, OneWordQuery, prefix_range, reached
from modelbay_catalog.store_search import _one_word_query


def test_the_prefix_range_holds_exactly_the_words_starting_with_it() -> None:
    low, high = prefix_range("user")
    words = ["use", "user", "userid", "usernam", "users", "usersz", "uses", "usf", "usr"]
    inside = [word for word in words if low <= word < high]  # byte order, as collation "C"
    assert inside == [word for word in words if word.startswith("user")]
    assert prefix_range("xyz") == ("xyz", "xy{")
    assert prefix_range("v9") == ("v9", "v:")


def test_items_are_counted_as_ts_rank_counts_them() -> None:
    # `'user' | 'user':*` is one item; a stem other than the prefix is a second one.
    assert OneWordQuery(exact="user", lexemes=("user",), prefix="user").item_count == 1
    assert OneWordQuery(exact="model", lexemes=("model",), prefix="models").item_count == 2
    typo = OneWordQuery(exact="forcast", lexemes=("forcast", "forecast"), prefix="forcast")
    assert typo.item_count == 2
    assert OneWordQuery(exact=None, lexemes=(), prefix="for").item_count == 1


def test_a_lexeme_the_prefix_range_reads_is_not_read_again() -> None:
    typo = OneWordQuery(exact="forcast", lexemes=("forcast", "forecast"), prefix="forcast")
    assert typo.lexemes_outside_prefix() == ["forecast"]
    finished = OneWordQuery(exact="forcast", lexemes=("forcast", "forecast"), prefix=None)
    assert finished.lexemes_outside_prefix() == ["forcast", "forecast"]


def test_only_a_finished_word_without_corrections_reads_its_postings_in_order() -> None:
    assert OneWordQuery(exact="user", lexemes=("user",), prefix=None).sole_lexeme is not None
    assert OneWordQuery(exact="user", lexemes=("user",), prefix="user").sole_lexeme is None
    assert OneWordQuery(exact="iri", lexemes=("iri", "iris"), prefix=None).sole_lexeme is None
    assert OneWordQuery(exact=None, lexemes=(), prefix="for").sole_lexeme is None


def test_pieces_are_read_as_lexemes_and_anything_else_keeps_ts_rank() -> None:
    assert _one_word_query("'user'", [], "'user':*") == OneWordQuery(
        exact="user", lexemes=("user",), prefix="user"
    )
    # Corrections whose stems coincide are one lexeme; a stop word has no exact lexeme.
    assert _one_word_query("'iir'", ["'iri'", "'iri'"], "") == OneWordQuery(
        exact="iir", lexemes=("iir", "iri"), prefix=None
    )
    assert _one_word_query("", [], "'for':*") == OneWordQuery(exact=None, lexemes=(), prefix="for")
    # A piece that is not one plain lexeme, or nothing to match at all.
    assert _one_word_query("'a' <-> 'b'", [], "") is None
    assert _one_word_query("'user'", [], "'user':*A") is None
    assert _one_word_query("", [], "") is None


def test_a_query_reads_in_score_order_only_when_it_reaches_one_lexeme() -> None:
    typed = OneWordQuery(exact="user", lexemes=("user",), prefix="user")
    assert typed.sole_lexeme is None  # until the postings are asked
    assert replace(typed, reaches_only="user").sole_lexeme == "user"
    assert OneWordQuery(exact="user", lexemes=("user",), prefix=None).sole_lexeme == "user"
    corrected = OneWordQuery(exact="forcast", lexemes=("forcast", "forecast"), prefix="forcast")
    assert corrected.sole_lexeme is None
    assert replace(corrected, reaches_only="forecast").sole_lexeme == "forecast"
    stop_word = OneWordQuery(exact=None, lexemes=(), prefix="for")
    assert replace(stop_word, reaches_only="forum").sole_lexeme == "forum"


def test_what_the_postings_answer_reaches() -> None:
    # Of the lexemes, those with postings; of the prefix range, its first and last lexeme.
    assert reached(["forecast"], None, None) == "forecast"  # a typo: one correction present
    assert reached(["user"], "user", "user") == "user"  # a typed word, nothing longer
    assert reached([], "forum", "forum") == "forum"  # a stop word's range of one lexeme
    assert reached(["user"], "user", "usernam") is None  # the range holds another
    assert reached(["forecast", "forcast"], None, None) is None  # two present
    assert reached([], None, None) is None  # nothing at all


@pytest.mark.parametrize("items", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("exact", ["user", "usr"])
def test_a_cursors_rank_turns_back_into_its_exact_score(items: int, exact: str) -> None:
    # The statement's rank is score / items + bonus in float8; Python's floats are the same.
    lexemes = (*(f"w{i}" for i in range(items - 1)), "user")
    word = OneWordQuery(exact=exact, lexemes=lexemes, prefix=None, reaches_only="user")
    assert word.item_count == items
    for grid_step in (1, 3, 2**31 + 12345, 2**32 - 1, 987654321):
        score = grid_step / SCORE_GRID
        rank = score / float(items) + word.bonus("user")
        assert word.score_of(rank, "user") == score
