"""Search postings: one row per (lexeme of a model's search vector, model) with the lexeme's
precomputed rank term and the columns the hot filters need, kept in step with `model_search`
by a trigger (docs/catalog.md, "Search"; docs/decisions.md, "One-word searches rank from
postings").

Why: a common word matches 5-7 % of the catalog, and ranking it on `model_search` reads every
match's heap tuple and runs `ts_rank` on each (Postgres was two thirds of a search's CPU). A
one-word query's rank is a sum of per-lexeme terms (`search_posting_score`), so it can be
summed from narrow index-only rows of the postings instead, and a finished word's first page
is an index range read in score order.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"
# The columns a posting copies from its `model_search` row: the visibility rule's and the
# filters that stay on the index-only path (the others are read from `model_search`).
COPIED = ("visibility", "owner", "owner_org", "category")
_columns = ", ".join(COPIED)
_from_new = ", ".join(f"NEW.{column}" for column in COPIED)
_from_search = ", ".join(f"s.{column}" for column in COPIED)
_set_new = ", ".join(f"{column} = NEW.{column}" for column in COPIED)
_old_copied = ", ".join(f"OLD.{column}" for column in COPIED)

# ts_rank's term for one lexeme of a vector (PostgreSQL's calc_rank_or, tsrank.c: weights
# D C B A = 0.1 0.2 0.4 1.0, positions in stored order, the first highest weight taken out of
# the 1/j² series and counted whole), in float8 and rounded to a multiple of 2^-32 so that
# sums of terms are exact, whatever order a plan adds them in: the postings statement and a
# reference computed from the vector give bit-identical ranks. A lexeme without positions
# counts as one position of weight D, as in ts_rank.
SCORE_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.search_posting_score(weights text[]) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    total double precision := 0;
    best double precision := -1;
    best_at integer := 1;
    position_weight double precision;
    j integer := 0;
    weight text;
BEGIN
    FOREACH weight IN ARRAY COALESCE(weights, ARRAY['D']) LOOP
        j := j + 1;
        position_weight := CASE weight
            WHEN 'A' THEN 1.0::double precision WHEN 'B' THEN 0.4::double precision
            WHEN 'C' THEN 0.2::double precision ELSE 0.1::double precision END;
        total := total + position_weight / (j * j)::double precision;
        IF position_weight > best THEN
            best := position_weight;
            best_at := j;
        END IF;
    END LOOP;
    RETURN round(
        (best + total - best / (best_at * best_at)::double precision)
        / 1.64493406685::double precision * 4294967296::double precision
    ) / 4294967296::double precision;
END
$$
"""

# Every writer of `model_search` (its own trigger on `models`, the seeder once it re-enables
# triggers) goes through here: a new vector rewrites the model's postings, a change of the
# copied columns only updates them, anything else (an upsert that changed nothing, a filter
# column the postings do not carry) leaves them. A deleted model's postings go with its
# `model_search` row (ON DELETE CASCADE).
SYNC_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.search_postings_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.search_vector IS NOT DISTINCT FROM OLD.search_vector THEN
        IF ({_from_new}) IS DISTINCT FROM ({_old_copied}) THEN
            UPDATE {SCHEMA}.search_postings SET {_set_new} WHERE model_id = NEW.model_id;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM {SCHEMA}.search_postings WHERE model_id = NEW.model_id;
    END IF;
    INSERT INTO {SCHEMA}.search_postings (word, model_id, score, {_columns})
    SELECT l.lexeme, NEW.model_id, {SCHEMA}.search_posting_score(l.weights), {_from_new}
    FROM unnest(NEW.search_vector) AS l;
    RETURN NULL;
END
$$
"""

# What the trigger writes for every row of `model_search`, in one statement (the backfill
# here; bench/catalog's seeder sends the same statement after a bulk load).
FILL_POSTINGS = f"""
INSERT INTO {SCHEMA}.search_postings (word, model_id, score, {_columns})
SELECT l.lexeme, s.model_id, {SCHEMA}.search_posting_score(l.weights), {_from_search}
FROM {SCHEMA}.model_search AS s CROSS JOIN LATERAL unnest(s.search_vector) AS l
"""


def upgrade() -> None:
    op.create_table(
        "search_postings",
        sa.Column("word", sa.Text(collation="C"), nullable=False),
        sa.Column(
            "model_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.model_search.model_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("visibility", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("owner_org", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("model_id", "word", name="search_postings_pkey"),
        schema=SCHEMA,
    )
    op.execute(SCORE_FUNCTION)
    op.execute(SYNC_FUNCTION)
    op.execute(
        f"""
        CREATE TRIGGER search_postings_sync
        AFTER INSERT OR UPDATE ON {SCHEMA}.model_search
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.search_postings_sync()
        """
    )
    # Filled before the word index is built (one sort instead of an insertion per posting).
    op.execute(FILL_POSTINGS + " ON CONFLICT DO NOTHING")
    # A word's postings in score order (a finished word's first page stops after the page,
    # read backwards), and a prefix's word range summed per model without touching the heap.
    op.create_index(
        "search_postings_word_idx",
        "search_postings",
        ["word", "score", "model_id"],
        schema=SCHEMA,
        postgresql_include=list(COPIED),
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER search_postings_sync ON {SCHEMA}.model_search")
    op.execute(f"DROP FUNCTION {SCHEMA}.search_postings_sync()")
    op.drop_index("search_postings_word_idx", table_name="search_postings", schema=SCHEMA)
    op.drop_table("search_postings", schema=SCHEMA)
    op.execute(f"DROP FUNCTION {SCHEMA}.search_posting_score(text[])")
