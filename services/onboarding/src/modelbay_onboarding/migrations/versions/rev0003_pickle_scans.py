"""Pickle scans: the verdict stored with each upload, and administrators' allowances per model.

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

SCHEMA = "onboarding"


def upgrade() -> None:
    op.add_column(
        "uploads", sa.Column("pickle_scan", postgresql.JSONB(), nullable=True), schema=SCHEMA
    )
    op.create_table(
        "pickle_allowances",
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("global_name", sa.Text(), nullable=False),
        sa.Column("allowed_by", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("owner", "name", "global_name", name="pickle_allowances_pkey"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("pickle_allowances", schema=SCHEMA)
    op.drop_column("uploads", "pickle_scan", schema=SCHEMA)
