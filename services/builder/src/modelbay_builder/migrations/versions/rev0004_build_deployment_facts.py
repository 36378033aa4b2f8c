"""Record what a deployment of the image needs: its idle memory and a solution's nodes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "builder"


def upgrade() -> None:
    op.add_column(
        "builds", sa.Column("idle_memory_bytes", sa.BigInteger(), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "builds",
        sa.Column("solution_nodes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("builds", "solution_nodes", schema=SCHEMA)
    op.drop_column("builds", "idle_memory_bytes", schema=SCHEMA)
