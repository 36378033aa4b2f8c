"""Typo tolerance for the model search: which catalog words a mistyped query word may mean
(pure: no I/O; store_search.py asks Postgres for the candidates).

A query word the vocabulary does not know gets as alternatives the known words within its
allowed edits (`allowed_edits`: optimal string alignment distance, i.e. Levenshtein plus a swap
of neighbours, 1 for 3-5 letters, 2 for 6-40), only the nearest. The candidates are found by
symmetric deletes (SymSpell, Wolf Garbe): every vocabulary word's `deletion_variants` are kept
in `search_word_deletes` (migration 0019), and the query word's own deletion variants are looked
up there. That finds every word within the budget, because an alignment of at most k edits
leaves a common subsequence that each side reaches by deleting at most k characters: a delete or
an insert deletes one character on one side, a replacement one on each side, a swap of
neighbours (`ab`/`ba`) one on each side (keeping `a`), and OSA never edits a character twice.
It also finds a few words that are further away (two sides' deletes may be different
characters); `corrections` keeps only those within the budget, by the true distance.

A query word is only ever [a-z0-9] (`WORD`), so a vocabulary character outside `ALPHABET` (the
hyphen of `iris-classifier`) is an edit in every alignment: the vocabulary side drops those
first, each spending one edit of `MAX_EDITS`, and keeps no variants of a word with more of them
than that (no query word can reach it). That is what keeps the table small: 134,000 rows for the
bench's 9,896 words instead of 2.4 million (most long words are hyphenated names).

A query word the vocabulary knows is never corrected. Corrections only *add* alternatives (the
typed word is still searched), so a correction can widen a search but never hide a match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

WORD = re.compile(r"[a-z0-9]+")
# Characters a typo may insert or substitute: what the vocabulary's words are made of.
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
MIN_CORRECTED_LENGTH = 3  # `ab` one edit away is half the dictionary
MAX_WORD_LENGTH = 40  # longer tokens (hashes, blobs of digits) are neither kept nor corrected
TWO_EDITS_MIN_LENGTH = 6
MAX_EDITS = 2  # the most `allowed_edits` gives: how far the vocabulary's deletion variants go
MAX_QUERY_WORDS = 8
MAX_CORRECTIONS = 4  # alternatives per word, nearest first
# websearch syntax (a quoted phrase, OR, a leading minus) means the user wants exact control.
_WEBSEARCH_SYNTAX = re.compile(r'"|(^|\s)-\S|\sor\s', re.IGNORECASE)


@dataclass(frozen=True)
class QueryWords:
    """The words of a free-text query, lower-cased, in order, duplicates dropped."""

    words: tuple[str, ...]
    prefix: str | None
    """The last word when the user may still be typing it (no trailing space), else None."""


def uses_websearch_syntax(query: str) -> bool:
    return bool(_WEBSEARCH_SYNTAX.search(query))


def query_words(query: str) -> QueryWords:
    found = list(dict.fromkeys(WORD.findall(query.lower())))[:MAX_QUERY_WORDS]
    still_typing = bool(found) and not query[-1:].isspace() and len(found[-1]) >= 2
    return QueryWords(words=tuple(found), prefix=found[-1] if still_typing else None)


def allowed_edits(word: str) -> int:
    """How many edits a word of this length may carry (Elasticsearch's AUTO fuzziness)."""
    if len(word) < MIN_CORRECTED_LENGTH or len(word) > MAX_WORD_LENGTH:
        return 0
    return 1 if len(word) < TWO_EDITS_MIN_LENGTH else MAX_EDITS


def deletion_variants(word: str, budget: int) -> set[str]:
    """`word` without its characters outside `ALPHABET` (each spends one of `budget`), and every
    string made from that by deleting at most the rest of `budget` characters; none when the
    word has more such characters than `budget`. The vocabulary keeps each word's variants at
    `MAX_EDITS` (migration 0019's `search_word_deletes_of`, the same set: a test compares them);
    a query word's at its `allowed_edits` are looked up there."""
    letters = "".join(character for character in word if character in ALPHABET)
    left_over = budget - (len(word) - len(letters))
    if left_over < 0:
        return set()
    found = {letters}
    for _ in range(left_over):
        found |= {variant[:i] + variant[i + 1 :] for variant in found for i in range(len(variant))}
    return found


def edit_distance(first: str, second: str) -> int:
    """Optimal string alignment distance: Levenshtein plus swapping two neighbours."""
    rows = len(first) + 1
    columns = len(second) + 1
    table = [[0] * columns for _ in range(rows)]
    for i in range(rows):
        table[i][0] = i
    for j in range(columns):
        table[0][j] = j
    for i in range(1, rows):
        for j in range(1, columns):
            cost = 0 if first[i - 1] == second[j - 1] else 1
            best = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and first[i - 1] == second[j - 2] and first[i - 2] == second[j - 1]:
                best = min(best, table[i - 2][j - 2] + 1)
            table[i][j] = best
    return table[-1][-1]


def corrections(words: Iterable[str], known: Iterable[str]) -> Mapping[str, tuple[str, ...]]:
    """For each query word the vocabulary does not know, the known words it may mean: those
    at the smallest distance any known word is within its allowed edits (alphabetical), at
    most MAX_CORRECTIONS. Only the nearest: a word one edit away is what the typist meant
    more often than one two edits away, and the rank does not weigh a correction by its
    distance, so a farther word's models would rank with the nearer's (docs/decisions.md,
    "Only the nearest corrections")."""
    vocabulary = set(known)
    found: dict[str, tuple[str, ...]] = {}
    for word in words:
        budget = allowed_edits(word)
        if word in vocabulary or budget == 0:
            continue
        scored = sorted(
            (distance, candidate)
            for candidate in vocabulary
            if abs(len(candidate) - len(word)) <= budget
            and (distance := edit_distance(word, candidate)) <= budget
        )
        if scored:
            nearest = scored[0][0]
            kept = [candidate for distance, candidate in scored if distance == nearest]
            found[word] = tuple(kept[:MAX_CORRECTIONS])
    return found
