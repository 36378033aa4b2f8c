"""The vocabulary's deletion variants (`search_word_deletes`), kept by a trigger on
`search_words`; the vocabulary's trigram index goes (docs/catalog.md, "Search"; docs/decisions.md,
"Typo candidates by symmetric deletes").

Why: the lookup of a mistyped word made its few hundred one-edit variants in SQL and probed each
on `search_words`' primary key (537 probes for `sccorer`, 897 for `transsaction`), then asked the
GiST trigram index for the 10 nearest words of 6+ letters: 2.4 ms of Postgres per typo search at
100,000 models. Now the query word's own deletion variants (at most 1 + n + n(n-1)/2 for n
letters at two edits: 56 for ten) are looked up here, which finds every vocabulary word within
the word's allowed edits (spelling.py proves why) and a few more that the catalog drops by the
true distance. The trigram search was an approximation (10 nearest by similarity) for two-edit
words; this is exact, so a two-edit word's corrections may differ from before.

A row: `variant` is `word` without its characters outside [a-z0-9] (a query word never has
any: each is an edit spent) and with up to the rest of two characters deleted
(`search_word_deletes_of`, the same set as spelling.deletion_variants). A word with more than two
such characters has no rows: no query word is within two edits of it. 134,000 rows (10 MB) for
the bench's 9,896 words.

`search_word_deletes_of` is also what the lookup calls for the query word: it is one SELECT, not
STRICT, so Postgres inlines it into the statement (a STRICT one runs as a function call:
0.34 ms instead of 0.11 per candidate search for the bench's typo words).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"  # spelling.ALPHABET: what a query word is
MAX_EDITS = 2  # spelling.MAX_EDITS: the most edits a query word may carry
# Positions run over constant ranges (a word has at most 40 characters), so the planner knows
# how few rows these are (a generate_series over length(word) is guessed at 1,000 rows).
DELETES_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.search_word_deletes_of(word text, budget integer)
RETURNS SETOF text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT d.variant
    FROM (SELECT translate(word, translate(word, '{ALPHABET}', ''), '') AS letters) AS k
    CROSS JOIN LATERAL (
        SELECT budget - (length(word) - length(k.letters)) AS left_over
    ) AS b
    CROSS JOIN LATERAL (
        SELECT k.letters AS variant WHERE b.left_over >= 0
        UNION
        SELECT left(k.letters, i) || substr(k.letters, i + 2)
        FROM generate_series(0, 39) AS i
        WHERE b.left_over >= 1 AND i < length(k.letters)
        UNION
        SELECT left(k.letters, i) || substr(k.letters, i + 2, j - i - 1)
               || substr(k.letters, j + 2)
        FROM generate_series(0, 38) AS i, generate_series(1, 39) AS j
        WHERE b.left_over >= 2 AND i < j AND j < length(k.letters)
    ) AS d
$$
"""
# One statement's new words (an INSERT … ON CONFLICT DO NOTHING lists only the rows it added),
# their variants in one INSERT in key order. Two transactions never write the same row: a
# word's variants are written by the one transaction whose insert of the word succeeded.
SYNC_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.search_word_deletes_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {SCHEMA}.search_word_deletes (variant, word)
    SELECT d.variant, a.word
    FROM added AS a CROSS JOIN LATERAL {SCHEMA}.search_word_deletes_of(a.word, {MAX_EDITS})
        AS d(variant)
    ORDER BY 1, 2;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.drop_index("search_words_trgm_idx", table_name="search_words", schema=SCHEMA)
    op.create_table(
        "search_word_deletes",
        sa.Column("variant", sa.Text(collation="C"), nullable=False),
        sa.Column("word", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("variant", "word", name="search_word_deletes_pkey"),
        schema=SCHEMA,
    )
    op.execute(DELETES_FUNCTION)
    op.execute(SYNC_FUNCTION)
    # No word may be added between the fill and the trigger.
    op.execute(f"LOCK TABLE {SCHEMA}.search_words IN SHARE MODE")
    op.execute(
        f"INSERT INTO {SCHEMA}.search_word_deletes (variant, word) "
        f"SELECT d.variant, w.word FROM {SCHEMA}.search_words AS w "
        f"CROSS JOIN LATERAL {SCHEMA}.search_word_deletes_of(w.word, {MAX_EDITS}) AS d(variant) "
        "ORDER BY 1, 2"
    )
    op.execute(
        f"CREATE TRIGGER search_word_deletes_sync AFTER INSERT ON {SCHEMA}.search_words "
        "REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {SCHEMA}.search_word_deletes_sync()"
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER search_word_deletes_sync ON {SCHEMA}.search_words")
    op.execute(f"DROP FUNCTION {SCHEMA}.search_word_deletes_sync()")
    op.execute(f"DROP FUNCTION {SCHEMA}.search_word_deletes_of(text, integer)")
    op.drop_table("search_word_deletes", schema=SCHEMA)
    op.create_index(
        "search_words_trgm_idx",
        "search_words",
        ["word"],
        schema=SCHEMA,
        postgresql_using="gist",
        postgresql_ops={"word": "gist_trgm_ops"},
    )
