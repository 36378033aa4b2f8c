"""Model deletion (a soft delete: `deleted_at`, `deleted_by`) and solution versions marked as
such (`kind`, and a solution's `nodes`) — issue 10.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"


def upgrade() -> None:
    op.add_column(
        "models", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA
    )
    op.add_column("models", sa.Column("deleted_by", sa.Text(), nullable=True), schema=SCHEMA)
    # The kind of the newest described version, kept on the model so that search filters and
    # counts it without a join (like `libraries`).
    op.add_column(
        "models",
        sa.Column("kind", sa.Text(), server_default="model", nullable=False),
        schema=SCHEMA,
    )
    op.add_column(
        "versions",
        sa.Column("kind", sa.Text(), server_default="model", nullable=False),
        schema=SCHEMA,
    )
    op.add_column(
        "versions",
        sa.Column(
            "nodes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        schema=SCHEMA,
    )
    op.create_index("models_kind_idx", "models", ["kind"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("models_kind_idx", table_name="models", schema=SCHEMA)
    op.drop_column("versions", "nodes", schema=SCHEMA)
    op.drop_column("versions", "kind", schema=SCHEMA)
    op.drop_column("models", "kind", schema=SCHEMA)
    op.drop_column("models", "deleted_by", schema=SCHEMA)
    op.drop_column("models", "deleted_at", schema=SCHEMA)
