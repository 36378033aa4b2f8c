"""The vocabulary lookup (search_sql.VOCABULARY_LOOKUP) makes an unknown word's one-edit variants
in the server: exactly the strings `spelling.one_edit_variants` makes (deletes, swaps of
neighbours, replacements and insertions of a character of `spelling.ALPHABET`), found when the
vocabulary holds them, and none for a known word or one too short to correct. Real Postgres."""

from __future__ import annotations

import asyncpg
from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.search_sql import VOCABULARY_LOOKUP
from modelbay_catalog.spelling import allowed_edits, edit_distance, one_edit_variants


async def test_the_server_makes_the_same_one_edit_variants_as_python(
    catalog_database_url: str,
) -> None:
    words = ["iirs", "aab", "v9x", "zzzz"]
    decoys = ["iirsxy", "aabbb", "x", "zz"]  # two or more edits away from every word
    vocabulary = sorted({v for word in words[:3] for v in one_edit_variants(word)} | {*decoys})
    connection = await asyncpg.connect(
        catalog_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    )
    try:
        await connection.executemany(
            f"INSERT INTO {SCHEMA}.search_words (word) VALUES ($1)", [(w,) for w in vocabulary]
        )
        await connection.execute(f"INSERT INTO {SCHEMA}.search_words (word) VALUES ('zzzz')")
        rows = await connection.fetch(
            VOCABULARY_LOOKUP,
            [*words, "qz"],
            [False] * 5,  # no trigram neighbours: only the variants come back
            [allowed_edits(word) >= 1 for word in [*words, "qz"]],
            10,
            None,  # no word being typed
        )
    finally:
        await connection.close()
    typed = {row["word"]: row["known"] for row in rows[:5]}
    assert typed == {"iirs": False, "aab": False, "v9x": False, "zzzz": True, "qz": False}
    found = sorted(row["word"] for row in rows[5:])
    # Each stored variant once per word it is a variant of; a known word ("zzzz") and a word too
    # short to correct ("qz") get none, and no decoy is ever found.
    expected = sorted(
        variant
        for word in words[:3]
        for variant in one_edit_variants(word)
        if variant in vocabulary
    )
    assert found == expected
    assert all(min(edit_distance(v, w) for w in words[:3]) == 1 for v in found)
