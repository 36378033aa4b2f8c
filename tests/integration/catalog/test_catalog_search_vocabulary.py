"""The typo candidates (search_sql.VOCABULARY_LOOKUP over `search_word_deletes`, migration 0019)
are exact: for every query word, the corrections the search makes of the lookup's answer equal
`spelling.corrections` with the whole vocabulary as `known` (the definition), for unknown words
at one and two edits of every kind (delete, insert, replace, swap of neighbours, and pairs of
them), known words, words too short or too long to correct, hyphenated and digit words; and the
variants the trigger keeps are exactly `spelling.deletion_variants`. Real Postgres."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.spelling import (
    ALPHABET,
    MAX_EDITS,
    corrections,
    deletion_variants,
    edit_distance,
    query_words,
)
from modelbay_catalog.store import CatalogStore
from modelbay_catalog.store_search import SearchStore
from modelbay_common.db import SessionFactory, create_engine, session_factory, transaction

LETTERS = "aeinorst"  # few letters, so that many vocabulary words are near each other
EDITS = ("delete", "insert", "replace", "swap")
Edit = Callable[[str, random.Random], str]


def _word(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(rng.randint(low, high)))


def vocabulary(rng: random.Random) -> list[str]:
    """Short, medium and long words, words with digits, hyphenated names of two to four parts,
    near neighbours of each other (the catalog's word expression lower-cases and keeps `-`)."""
    found: set[str] = set()
    for _ in range(80):
        found.add(_word(rng, 3, 5))
        found.add(_word(rng, 6, 12))
    for _ in range(25):
        found.add(_word(rng, 18, 40))
        found.add(_word(rng, 3, 6) + str(rng.randint(0, 999)))
    for parts in (2, 3, 4):
        for _ in range(25):
            name = "-".join(_word(rng, 2, 7) for _ in range(parts))
            found.add(name[:40])
    for word in list(found)[:80]:  # one and two edits of known words are known words too
        found.add(edited(word, rng.choice(EDITS), rng))
        found.add(edited(edited(word, rng.choice(EDITS), rng), rng.choice(EDITS), rng))
    return sorted(w for w in found if 3 <= len(w) <= 40)


def edited(word: str, kind: str, rng: random.Random) -> str:
    at = rng.randrange(len(word))
    if kind == "delete":
        return word[:at] + word[at + 1 :]
    if kind == "insert":
        return word[:at] + rng.choice(LETTERS + "9") + word[at:]
    if kind == "replace":
        return word[:at] + rng.choice(LETTERS + "9") + word[at + 1 :]
    at = min(at, len(word) - 2)
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def query_words_of(known: list[str], rng: random.Random) -> list[str]:
    """Query words ([a-z0-9]: what `spelling.query_words` makes) for every case."""
    found: list[str] = []
    for word in rng.sample(known, 40):
        letters = "".join(c for c in word if c in ALPHABET)
        found.append(letters)  # a hyphenated name typed without its hyphens: unknown
        for kind in EDITS:
            found.append(edited(letters, kind, rng))
            for second in EDITS:
                found.append(edited(edited(letters, kind, rng), second, rng))
    found += [w for w in known if "-" not in w][:20]  # known words: never corrected
    found += ["ae", "st", "a" * 41, _word(rng, 41, 45), "zzz", "q9q9q9q9"]
    return [w for w in dict.fromkeys(found) if len(w) >= 2 and query_words(w).words == (w,)]


def levenshtein(first: str, second: str) -> int:
    """Without swaps: a pair nearer by `edit_distance` is near only through a swap."""
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, 1):
        current = [i]
        for j, b in enumerate(second, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


@pytest.fixture
async def sessions(catalog_database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(catalog_database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def _add(sessions: SessionFactory, words: list[str]) -> None:
    async with transaction(sessions) as session:
        await CatalogStore(session).add_search_words(words)


async def test_the_lookup_finds_exactly_the_corrections_of_the_whole_vocabulary(
    sessions: SessionFactory,
) -> None:
    rng = random.Random(19)
    known = vocabulary(rng)
    # In three writes, overlapping: words already known are skipped with their variants.
    await _add(sessions, known[::2])
    await _add(sessions, known[::3])
    await _add(sessions, known)
    queries = query_words_of(known, rng)
    distances_met: set[tuple[int, bool]] = set()  # (edits, only a swap makes it that near)
    async with transaction(sessions) as session:
        store = SearchStore(session)
        for word in queries:
            expected = corrections([word], known)
            match = await store.text_match(word + " ")  # a finished word: no prefix
            assert dict(match.alternatives) == dict(expected), word
            distances_met |= {
                (edit_distance(word, found), levenshtein(word, found) > edit_distance(word, found))
                for found in expected.get(word, ())
            }
        # Several unknown words in one statement: each still gets exactly its own.
        for _ in range(30):
            several = rng.sample(queries, 6)
            phrase = " ".join(several) + " "
            words = query_words(phrase).words
            match = await store.text_match(phrase)
            assert dict(match.alternatives) == dict(corrections(words, known)), phrase
    # Corrections at one and at two edits, with and without a swap of neighbours among them.
    assert distances_met == {(1, False), (1, True), (2, False), (2, True)}
    assert len(queries) > 700


async def test_the_trigger_keeps_every_words_deletion_variants(
    sessions: SessionFactory, catalog_database_url: str
) -> None:
    known = vocabulary(random.Random(5))
    await _add(sessions, known[:100])
    await _add(sessions, known)
    connection = await asyncpg.connect(
        catalog_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    )
    try:
        stored = {
            (row["variant"], row["word"])
            for row in await connection.fetch(
                f"SELECT variant, word FROM {SCHEMA}.search_word_deletes"
            )
        }
        made = {
            (word, budget): {
                str(row[0])
                for row in await connection.fetch(
                    f"SELECT {SCHEMA}.search_word_deletes_of($1::text, $2::integer)",
                    word,
                    budget,
                )
            }
            for word in known[:60]
            for budget in (0, 1, 2)
        }
    finally:
        await connection.close()
    assert stored == {(v, w) for w in known for v in deletion_variants(w, MAX_EDITS)}
    assert made == {key: deletion_variants(*key) for key in made}
    assert any("-" in word for _, word in stored)
    assert all(word.count("-") <= MAX_EDITS for _, word in stored)


async def test_concurrent_writers_sharing_words_all_commit_with_every_variant_once(
    sessions: SessionFactory, catalog_database_url: str
) -> None:
    """Eight transactions adding overlapping words at once: a word's variants are written by the
    one whose insert of the word succeeded (the others wait on it and skip the word)."""
    known = vocabulary(random.Random(11))
    rng = random.Random(12)
    batches = [rng.sample(known, len(known) // 2) for _ in range(8)]
    await asyncio.gather(*(_add(sessions, batch) for batch in batches))
    connection = await asyncpg.connect(
        catalog_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    )
    try:
        stored = [
            (str(row[0]), str(row[1]))
            for row in await connection.fetch(
                f"SELECT variant, word FROM {SCHEMA}.search_word_deletes"
            )
        ]
    finally:
        await connection.close()
    added = {word for batch in batches for word in batch}
    assert sorted(stored) == sorted((v, w) for w in added for v in deletion_variants(w, MAX_EDITS))
