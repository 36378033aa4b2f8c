"""Typo tolerance for the model search: which catalog words a mistyped query word may mean
(pure: no I/O; store_search.py asks Postgres for the candidates).

Why two ways to find candidates. `pg_trgm` similarity is excellent for longer words
(`clasifier` ~ `classifier` is 0.75) but blind to short ones: `iirs` and `iris` share one
trigram of nine (0.11), below any useful threshold, while `pairs` scores 0.22. So:

- every word the catalog knows that is one edit away (insert, delete, substitute, or swap two
  neighbours: Damerau-Levenshtein) is found exactly, by looking up all such variants in the
  vocabulary's primary key (a few hundred keys; `iirs` → `iris`);
- words of `TRIGRAM_MIN_LENGTH` letters or more also get their nearest vocabulary words by
  trigram similarity (GiST index), kept when at most two edits away.

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
TRIGRAM_MIN_LENGTH = 6
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
    return 1 if len(word) < TRIGRAM_MIN_LENGTH else 2


def one_edit_variants(word: str) -> set[str]:
    """Every string one Damerau-Levenshtein edit away from `word` (Norvig's `edits1`)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {left + right[1:] for left, right in splits if right}
    swaps = {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    replaces = {left + c + right[1:] for left, right in splits if right for c in ALPHABET}
    inserts = {left + c + right for left, right in splits for c in ALPHABET}
    return (deletes | swaps | replaces | inserts) - {word}


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


def words_to_look_up(words: Iterable[str]) -> tuple[list[str], list[str]]:
    """What to ask the vocabulary: (the words themselves plus their one-edit variants, the
    words long enough for a trigram neighbour search)."""
    exact: set[str] = set()
    long_words: list[str] = []
    for word in words:
        exact.add(word)
        if allowed_edits(word) >= 1:
            exact |= one_edit_variants(word)
        if allowed_edits(word) >= 2:
            long_words.append(word)
    return sorted(exact), long_words


def corrections(words: Iterable[str], known: Iterable[str]) -> Mapping[str, tuple[str, ...]]:
    """For each query word the vocabulary does not know, the known words it may mean: within
    its allowed edits, nearest first (ties alphabetical), at most MAX_CORRECTIONS."""
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
            found[word] = tuple(candidate for _, candidate in scored[:MAX_CORRECTIONS])
    return found
