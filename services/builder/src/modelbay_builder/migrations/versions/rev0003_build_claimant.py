"""Record who claimed a build (host, pid, pid namespace) for the same-host takeover.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "builder"


def upgrade() -> None:
    op.add_column("builds", sa.Column("claimant_host", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("builds", sa.Column("claimant_pid", sa.Integer(), nullable=True), schema=SCHEMA)
    op.add_column(
        "builds", sa.Column("claimant_pid_namespace", sa.Text(), nullable=True), schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_column("builds", "claimant_pid_namespace", schema=SCHEMA)
    op.drop_column("builds", "claimant_pid", schema=SCHEMA)
    op.drop_column("builds", "claimant_host", schema=SCHEMA)
