"""The typo rules of the search (spelling.py): which words are corrected, to what, and why."""

from __future__ import annotations

import random

from modelbay_catalog.spelling import (
    MAX_CORRECTIONS,
    MAX_EDITS,
    MAX_QUERY_WORDS,
    allowed_edits,
    corrections,
    deletion_variants,
    edit_distance,
    query_words,
    uses_websearch_syntax,
)


def test_edit_distance_counts_a_swap_of_neighbours_as_one_edit() -> None:
    assert edit_distance("iirs", "iris") == 1
    assert edit_distance("iris", "iris") == 0
    assert edit_distance("flowrs", "flowers") == 1
    assert edit_distance("gradiant", "gradient") == 1
    assert edit_distance("", "abc") == 3
    assert edit_distance("kitten", "sitting") == 3


def test_deletion_variants_delete_up_to_the_budget_after_the_foreign_characters() -> None:
    assert deletion_variants("iris", 1) == {"iris", "ris", "iis", "irs", "iri"}
    assert len(deletion_variants("abcdefghij", 2)) == 1 + 10 + 45
    assert deletion_variants("a-bc", 1) == {"abc"}  # the hyphen spends the one edit
    assert deletion_variants("a-bc", 2) == {"abc", "bc", "ac", "ab"}
    assert deletion_variants("a-b-c", 2) == {"abc"}
    assert deletion_variants("a-b-c-d", 2) == set()  # three edits from any query word


def test_every_word_within_the_allowed_edits_shares_a_deletion_variant() -> None:
    """Symmetric deletes find every vocabulary word within a query word's allowed edits (the
    claim migration 0019 rests on), for each kind of edit and two at once, hyphens included."""
    rng = random.Random(7)
    letters = "abcde0"  # few letters, so that near words are many

    def edited(word: str) -> str:
        at = rng.randrange(len(word) + 1)
        kind = rng.choice(("delete", "insert", "replace", "swap", "hyphen"))
        if kind == "delete" and at < len(word):
            return word[:at] + word[at + 1 :]
        if kind == "swap" and at < len(word) - 1:
            return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        if kind == "replace" and at < len(word):
            return word[:at] + rng.choice(letters) + word[at + 1 :]
        return word[:at] + ("-" if kind == "hyphen" else rng.choice(letters)) + word[at:]

    for _ in range(400):
        word = "".join(rng.choice(letters) for _ in range(rng.randrange(3, 11)))
        vocabulary = {edited(edited(word)) for _ in range(20)} | {edited(word) for _ in range(20)}
        budget = allowed_edits(word)
        stored = {v for known in vocabulary for v in deletion_variants(known, MAX_EDITS)}
        looked_up = deletion_variants(word, budget)
        for known in vocabulary:
            if edit_distance(word, known) <= budget:
                assert looked_up & deletion_variants(known, MAX_EDITS), (word, known)
        assert looked_up & stored or not corrections([word], vocabulary)


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


def test_a_known_word_is_never_corrected() -> None:
    assert corrections(["airs"], ["airs", "iris"]) == {}


def test_corrections_are_the_nearest_within_the_allowed_edits() -> None:
    known = ["iris", "airs", "pairs", "irises", "flowers", "flower", "floors"]
    found = corrections(["iirs", "flowrs", "flowrrss"], known)
    assert found["iirs"] == ("airs", "iris")  # both one edit; alphabetical on a tie
    assert found["flowrs"] == ("floors", "flowers")  # one edit each; `flower` is two away
    assert found["flowrrss"] == ("flowers",)  # the nearest is two edits away: it is kept
    assert corrections(["zzqx"], known) == {}


def test_at_most_a_few_corrections_per_word() -> None:
    known = [f"{letter}ode" for letter in "abcdefghij"]
    assert len(corrections(["zode"], known)["zode"]) == MAX_CORRECTIONS
