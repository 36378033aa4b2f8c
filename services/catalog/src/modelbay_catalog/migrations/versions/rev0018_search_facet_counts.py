"""Precomputed facet counts of public models (`search_facet_counts`), kept in step with
`model_search` by a trigger, and two indexes that find the few non-public rows a caller may
see (docs/catalog.md, "Search"; docs/decisions.md, "Facet counts precomputed for public
models").

Why: a search with facets counted every facet over every visible match on `model_search`: a
common word's thousands of heap rows grouped six ways (Postgres ~11 ms of a ~13 ms request at
100,000 models). When the matches are the postings of one lexeme (or there is no `q`) and the
only filter is a category, the counts of public models are read here instead (about twenty
index rows per facet), and the caller's own, their organisations' and org-visible rows beyond
the public ones are counted live from the two indexes below and merged exactly
(search_facets.py says why the merge is exact).

A row: for `word` (a lexeme of a public model's vector, or '' for every public model: a search
without `q`) and `scope` (the model's category, or '' for any category), how many public models
have `value` in `facet` (category, library, license, owner, kind; `status` counts the caller's
own models, always live). The category facet is kept only in scope '' (a facet ignores its own
filter). A count that falls to 0 stays as a row (read with `count > 0`): deleting it would be a
second statement per model write, and a row that can come back as soon as a model does costs
nothing to keep.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"
# The columns the counts depend on: a write that changes none of them (status, a row rewritten
# unchanged by model_search_sync) leaves the counts alone.
COUNTED = ("search_vector", "visibility", "category", "libraries", "license", "owner", "kind")
_new = ", ".join(f"NEW.{column}" for column in COUNTED)
_old = ", ".join(f"OLD.{column}" for column in COUNTED)
_keys_of_new = ", ".join(f"NEW.{column}" for column in COUNTED if column != "visibility")
_keys_of_old = ", ".join(f"OLD.{column}" for column in COUNTED if column != "visibility")

# The counted keys of one model (not yet filtered on visibility): a row per (its lexemes and
# '') × (its category and '') × (its facet values), the category facet in scope '' only; a
# library listed twice is counted twice, as facets_sql's unnest counts it.
KEYS_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.search_facet_keys(
    vector tsvector, category text, libraries text[], license text, owner text, kind text
) RETURNS TABLE (word text, scope text, facet text, value text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT w.word, s.scope, f.facet, f.value
    FROM (SELECT ''::text AS word UNION ALL SELECT l.lexeme FROM unnest(vector) AS l) AS w
    CROSS JOIN (SELECT ''::text AS scope UNION ALL SELECT category WHERE category IS NOT NULL)
        AS s
    CROSS JOIN LATERAL (
        SELECT 'category'::text, category WHERE s.scope = ''
        UNION ALL SELECT 'library', unnest(libraries)
        UNION ALL SELECT 'license', license
        UNION ALL SELECT 'owner', owner
        UNION ALL SELECT 'kind', kind
    ) AS f(facet, value)
    WHERE f.value IS NOT NULL
$$
"""

# The net change of one model write, in one upsert whose rows go in key order: two writes of
# models sharing lexemes lock the rows they share in the same order, so they never deadlock.
SYNC_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.search_facet_counts_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND ({_new}) IS NOT DISTINCT FROM ({_old}) THEN
        RETURN NULL;
    END IF;
    INSERT INTO {SCHEMA}.search_facet_counts AS t (word, scope, facet, value, count)
    SELECT k.word, k.scope, k.facet, k.value, sum(k.delta)::integer
    FROM (
        SELECT n.word, n.scope, n.facet, n.value, 1 AS delta
        FROM {SCHEMA}.search_facet_keys({_keys_of_new}) AS n
        WHERE TG_OP <> 'DELETE' AND NEW.visibility = 'public'
        UNION ALL
        SELECT o.word, o.scope, o.facet, o.value, -1
        FROM {SCHEMA}.search_facet_keys({_keys_of_old}) AS o
        WHERE TG_OP <> 'INSERT' AND OLD.visibility = 'public'
    ) AS k
    GROUP BY k.word, k.scope, k.facet, k.value
    HAVING sum(k.delta) <> 0
    ORDER BY k.word, k.scope, k.facet, k.value
    ON CONFLICT (word, scope, facet, value) DO UPDATE SET count = t.count + EXCLUDED.count;
    RETURN NULL;
END
$$
"""

# Every public model's keys counted at once (this backfill, and bench/catalog's seeder after a
# bulk load with the trigger off): grouped per category first, the scope '' rows summed from
# those groups, so the ~15 M keys of 100,000 models are hashed once.
FILL_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.search_facet_counts_fill() RETURNS void
LANGUAGE sql AS $$
    WITH by_category AS MATERIALIZED (
        SELECT k.word, s.category, k.facet, k.value, count(*) AS count
        FROM {SCHEMA}.model_search AS s
        CROSS JOIN LATERAL {SCHEMA}.search_facet_keys(
            s.search_vector, NULL, s.libraries, s.license, s.owner, s.kind
        ) AS k
        WHERE s.visibility = 'public'
        GROUP BY k.word, s.category, k.facet, k.value
        UNION ALL
        SELECT w.word, s.category, 'category', s.category, count(*)
        FROM {SCHEMA}.model_search AS s
        CROSS JOIN LATERAL (
            SELECT ''::text UNION ALL SELECT l.lexeme FROM unnest(s.search_vector) AS l
        ) AS w(word)
        WHERE s.visibility = 'public' AND s.category IS NOT NULL
        GROUP BY w.word, s.category
    )
    INSERT INTO {SCHEMA}.search_facet_counts (word, scope, facet, value, count)
    SELECT word, category, facet, value, count::integer
    FROM by_category WHERE category IS NOT NULL AND facet <> 'category'
    UNION ALL
    SELECT word, '', facet, value, sum(count)::integer
    FROM by_category GROUP BY word, facet, value
$$
"""


def upgrade() -> None:
    op.create_table(
        "search_facet_counts",
        sa.Column("word", sa.Text(collation="C"), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("facet", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word", "scope", "facet", "value", name="search_facet_counts_pkey"),
        schema=SCHEMA,
    )
    op.execute(KEYS_FUNCTION)
    op.execute(SYNC_FUNCTION)
    op.execute(FILL_FUNCTION)
    op.execute(
        f"""
        CREATE TRIGGER search_facet_counts_sync
        AFTER INSERT OR UPDATE OR DELETE ON {SCHEMA}.model_search
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.search_facet_counts_sync()
        """
    )
    # The backfill runs before the top-values index exists (one sort instead of an insertion
    # per row); a model written meanwhile waits on this transaction's lock on the table.
    op.execute(f"LOCK TABLE {SCHEMA}.model_search IN SHARE MODE")
    op.execute(f"SELECT {SCHEMA}.search_facet_counts_fill()")
    # A facet's top values for a word and scope, in the order the facets are shown.
    op.execute(
        f"CREATE INDEX search_facet_counts_top_idx ON {SCHEMA}.search_facet_counts "
        "(word, scope, facet, count DESC, value)"
    )
    # The rows a signed-in caller sees beyond the public ones, found without reading the
    # matches: their own and their managed organisations' models (by owner; the `status` facet
    # counts their own public ones too), and org-visible models of their organisations.
    op.create_index("model_search_owner_idx", "model_search", ["owner"], schema=SCHEMA)
    op.create_index(
        "model_search_org_idx",
        "model_search",
        ["owner_org"],
        schema=SCHEMA,
        postgresql_where=sa.text("visibility = 'org'"),
    )


def downgrade() -> None:
    op.drop_index("model_search_org_idx", table_name="model_search", schema=SCHEMA)
    op.drop_index("model_search_owner_idx", table_name="model_search", schema=SCHEMA)
    op.execute(f"DROP TRIGGER search_facet_counts_sync ON {SCHEMA}.model_search")
    op.execute(f"DROP FUNCTION {SCHEMA}.search_facet_counts_fill()")
    op.execute(f"DROP FUNCTION {SCHEMA}.search_facet_counts_sync()")
    op.execute(
        f"DROP FUNCTION {SCHEMA}.search_facet_keys(tsvector, text, text[], text, text, text)"
    )
    op.drop_index("search_facet_counts_top_idx", table_name="search_facet_counts", schema=SCHEMA)
    op.drop_table("search_facet_counts", schema=SCHEMA)
