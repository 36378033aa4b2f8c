"""Typo-tolerant search (pg_trgm, a vocabulary of words), downloads kept on the model row for
sorting, and each version's descriptor set and interface diff.

`pg_trgm` is a trusted extension (PostgreSQL 13+): the database owner may create it without
being a superuser. It is database-wide, so the downgrade leaves it installed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"

# The search document as of this revision (store.search_document builds the same in Python).
SEARCH_DOCUMENT = """
    setweight(to_tsvector('english'::regconfig, name), 'A')
    || setweight(to_tsvector('english'::regconfig, array_to_string(tags, ' ')), 'A')
    || setweight(to_tsvector('english'::regconfig, description), 'B')
    || setweight(to_tsvector('english'::regconfig, interface_terms), 'C')
    || setweight(to_tsvector('english'::regconfig, array_to_string(libraries, ' ')), 'C')
    || setweight(to_tsvector('english'::regconfig, owner), 'D')
"""
# The words typos are corrected to (store.vocabulary_document builds the same in Python).
VOCABULARY_DOCUMENT = """
    to_tsvector('simple'::regconfig, concat_ws(' ', name, array_to_string(tags, ' '),
        description, interface_terms, array_to_string(libraries, ' '), owner))
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.add_column(
        "models",
        sa.Column("downloads", sa.BigInteger(), nullable=False, server_default="0"),
        schema=SCHEMA,
    )
    op.execute(
        f"""
        UPDATE {SCHEMA}.models AS m SET downloads = totals.count
        FROM (
            SELECT v.model_id, sum(d.count) AS count
            FROM {SCHEMA}.download_counts AS d JOIN {SCHEMA}.versions AS v ON v.id = d.version_id
            GROUP BY v.model_id
        ) AS totals
        WHERE totals.model_id = m.id
        """
    )
    op.create_index("models_downloads_idx", "models", ["downloads", "id"], schema=SCHEMA)
    op.create_index(
        "models_name_trgm_idx",
        "models",
        ["name"],
        schema=SCHEMA,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    # Libraries became part of the search document.
    op.execute(f"UPDATE {SCHEMA}.models SET search_vector = {SEARCH_DOCUMENT}")

    op.create_table(
        "search_words",
        sa.Column("word", sa.Text(), primary_key=True),
        schema=SCHEMA,
    )
    op.create_index(
        "search_words_trgm_idx",
        "search_words",
        ["word"],
        schema=SCHEMA,
        postgresql_using="gist",
        postgresql_ops={"word": "gist_trgm_ops"},
    )
    op.execute(
        f"""
        INSERT INTO {SCHEMA}.search_words (word)
        SELECT DISTINCT word FROM {SCHEMA}.models,
            unnest(tsvector_to_array({VOCABULARY_DOCUMENT})) AS word
        WHERE length(word) BETWEEN 3 AND 40
        ON CONFLICT DO NOTHING
        """
    )

    op.add_column(
        "versions", sa.Column("descriptor_set", sa.LargeBinary(), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "versions",
        sa.Column("interface_compared_to", sa.Integer(), nullable=True),
        schema=SCHEMA,
    )
    op.add_column(
        "versions", sa.Column("interface_breaking", sa.Boolean(), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "versions",
        sa.Column("interface_changes", postgresql.JSONB(), nullable=True),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for column in ("interface_changes", "interface_breaking", "interface_compared_to"):
        op.drop_column("versions", column, schema=SCHEMA)
    op.drop_column("versions", "descriptor_set", schema=SCHEMA)
    op.drop_index("search_words_trgm_idx", table_name="search_words", schema=SCHEMA)
    op.drop_table("search_words", schema=SCHEMA)
    op.drop_index("models_name_trgm_idx", table_name="models", schema=SCHEMA)
    op.drop_index("models_downloads_idx", table_name="models", schema=SCHEMA)
    op.drop_column("models", "downloads", schema=SCHEMA)
    op.execute(
        f"""UPDATE {SCHEMA}.models SET search_vector =
        setweight(to_tsvector('english'::regconfig, name), 'A')
        || setweight(to_tsvector('english'::regconfig, array_to_string(tags, ' ')), 'A')
        || setweight(to_tsvector('english'::regconfig, description), 'B')
        || setweight(to_tsvector('english'::regconfig, interface_terms), 'C')
        || setweight(to_tsvector('english'::regconfig, owner), 'D')"""
    )
