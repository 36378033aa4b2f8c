"""Drop the trigram index on model names: search no longer matches `name % q`.

At 100,000 models the lossy trigram index sent thousands of rows to be rechecked for a long
word (`subscription`: 6,000), more than the rest of the query cost, while the vocabulary of
typo corrections (revision 0003) already corrects the words of names, hyphenated ones included.
The `pg_trgm` extension stays: the vocabulary's GiST index uses it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"


def upgrade() -> None:
    op.drop_index("models_name_trgm_idx", table_name="models", schema=SCHEMA)


def downgrade() -> None:
    op.create_index(
        "models_name_trgm_idx",
        "models",
        ["name"],
        schema=SCHEMA,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
