"""The typo rules of the search (spelling.py): which words are corrected, to what, and why."""

from __future__ import annotations

from modelbay_catalog.spelling import (
    MAX_CORRECTIONS,
    MAX_QUERY_WORDS,
    allowed_edits,
    corrections,
    edit_distance,
    one_edit_variants,
    query_words,
    uses_websearch_syntax,
    words_to_look_up,
)


def test_edit_distance_counts_a_swap_of_neighbours_as_one_edit() -> None:
    assert edit_distance("iirs", "iris") == 1
    assert edit_distance("iris", "iris") == 0
    assert edit_distance("flowrs", "flowers") == 1
    assert edit_distance("gradiant", "gradient") == 1
    assert edit_distance("", "abc") == 3
    assert edit_distance("kitten", "sitting") == 3


def test_one_edit_variants_are_exactly_the_strings_one_edit_away() -> None:
    variants = one_edit_variants("iirs")
    assert {"iris", "irs", "iirs2", "airs", "iir"} <= variants
    assert "iirs" not in variants
    assert all(edit_distance("iirs", variant) == 1 for variant in variants)


def test_short_words_are_never_corrected_and_long_ones_may_carry_two_edits() -> None:
    assert allowed_edits("ab") == 0
    assert allowed_edits("iirs") == 1
    assert allowed_edits("flowrs") == 2
    assert allowed_edits("x" * 41) == 0


def test_query_words_are_lower_cased_deduplicated_and_the_last_may_be_a_prefix() -> None:
    assert query_words("Iris  FLOWERS iris") == query_words("iris flowers")
    assert query_words("iris flow").prefix == "flow"
    assert query_words("iris flow ").prefix is None  # a space ends the word
    assert query_words("iris-classifier v2").words == ("iris", "classifier", "v2")
    assert query_words("").words == ()
    assert len(query_words(" ".join(f"w{i}" for i in range(20))).words) == MAX_QUERY_WORDS


def test_websearch_syntax_is_recognised() -> None:
    assert uses_websearch_syntax('"species of iris"')
    assert uses_websearch_syntax("predicts -iris")
    assert uses_websearch_syntax("iris or rose")
    assert not uses_websearch_syntax("iris-classifier")
    assert not uses_websearch_syntax("orchid")


def test_what_is_looked_up_covers_every_word_and_its_variants() -> None:
    exact, long_words = words_to_look_up(["iirs", "flowrs", "ab"])
    assert {"iirs", "iris", "flowrs", "flowers", "ab"} <= set(exact)
    assert "abc" not in exact  # two letters: no variants
    assert long_words == ["flowrs"]


def test_a_known_word_is_never_corrected() -> None:
    assert corrections(["airs"], ["airs", "iris"]) == {}


def test_corrections_are_nearest_first_within_the_allowed_edits() -> None:
    known = ["iris", "airs", "pairs", "irises", "flowers", "flower", "floors"]
    found = corrections(["iirs", "flowrs"], known)
    assert found["iirs"] == ("airs", "iris")  # both one edit; alphabetical on a tie
    assert found["flowrs"] == ("floors", "flowers", "flower")  # 1, 1, then 2 edits
    assert corrections(["zzqx"], known) == {}


def test_at_most_a_few_corrections_per_word() -> None:
    known = [f"{letter}ode" for letter in "abcdefghij"]
    assert len(corrections(["zode"], known)["zode"]) == MAX_CORRECTIONS
