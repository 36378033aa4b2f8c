"""A narrow copy of what a relevance search matches, filters and ranks on (`model_search`),
kept in step with `models` by a trigger (docs/catalog.md, "Search"; docs/decisions.md).

A common word matches 5-7 % of the catalog, and ranking reads every match from the heap: on
`models` a row is ~1 kB (description, interface terms, counters), so a match costs nearly one
page. Here a row is the search vector and the filter columns only (~0.5 kB). Deleted models
have no row. The trigger fires on the columns copied, not on counters such as `downloads`, so
a download or a view does not rewrite the copy.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"
COPIED = (
    "search_vector",
    "visibility",
    "owner",
    "owner_org",
    "category",
    "license",
    "libraries",
    "latest_status",
    "kind",
)
_columns = ", ".join(COPIED)
_from_new = ", ".join(f"NEW.{column}" for column in COPIED)
_set_excluded = ", ".join(f"{column} = EXCLUDED.{column}" for column in COPIED)


def upgrade() -> None:
    op.create_table(
        "model_search",
        sa.Column(
            "model_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("search_vector", postgresql.TSVECTOR(), nullable=False, server_default=""),
        sa.Column("visibility", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("owner_org", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("license", sa.Text(), nullable=True),
        sa.Column("libraries", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("latest_status", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False, server_default="model"),
        schema=SCHEMA,
    )
    # The row follows its model from every writer (events, publish, delete, federation sync,
    # the bench's seeder re-enables it after a bulk load): no code path can forget it.
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.model_search_sync() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.deleted_at IS NOT NULL THEN
                DELETE FROM {SCHEMA}.model_search WHERE model_id = NEW.id;
            ELSE
                INSERT INTO {SCHEMA}.model_search (model_id, {_columns})
                VALUES (NEW.id, {_from_new})
                ON CONFLICT (model_id) DO UPDATE SET {_set_excluded};
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER model_search_sync
        AFTER INSERT OR UPDATE OF {_columns}, deleted_at ON {SCHEMA}.models
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.model_search_sync()
        """
    )
    # Filled before its index is built (one sort instead of 100,000 index insertions); a model
    # written meanwhile already has its row from the trigger.
    op.execute(
        f"""
        INSERT INTO {SCHEMA}.model_search (model_id, {_columns})
        SELECT id, {_columns} FROM {SCHEMA}.models WHERE deleted_at IS NULL
        ON CONFLICT (model_id) DO NOTHING
        """
    )
    op.create_index(
        "model_search_vector_idx",
        "model_search",
        ["search_vector"],
        schema=SCHEMA,
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER model_search_sync ON {SCHEMA}.models")
    op.execute(f"DROP FUNCTION {SCHEMA}.model_search_sync()")
    op.drop_index("model_search_vector_idx", table_name="model_search", schema=SCHEMA)
    op.drop_table("model_search", schema=SCHEMA)
