"""The builds table: one row per model version, from queued to succeeded or failed.

Revision ID: 0002
Revises: 0001
Create Date: 2025-05-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "builder"


def upgrade() -> None:
    op.create_table(
        "builds",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("request", postgresql.JSONB(), nullable=False),
        sa.Column("lock_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("failure_kind", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("log_tail", sa.Text(), nullable=False, server_default=""),
        sa.Column("image_ref", sa.Text(), nullable=True),
        sa.Column("image_id", sa.Text(), nullable=True),
        sa.Column("image_digest", sa.Text(), nullable=True),
        sa.Column("image_size", sa.BigInteger(), nullable=True),
        sa.Column("sbom_uri", sa.Text(), nullable=True),
        sa.Column("dependency_layer_cached", sa.Boolean(), nullable=True),
        sa.Column("build_seconds", sa.Float(), nullable=True),
        sa.Column("validation_seconds", sa.Float(), nullable=True),
        sa.Column("push_seconds", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("worker_id", sa.Text(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "queued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("owner", "name", "version", name="builds_version_key"),
        sa.CheckConstraint(
            "status IN ('queued','building','validating','pushing','succeeded','failed')",
            name="builds_status_check",
        ),
        schema=SCHEMA,
    )
    # The worker's claim query: queued builds in arrival order, and stale claims.
    op.create_index(
        "builds_claimable_idx",
        "builds",
        ["queued_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status NOT IN ('succeeded','failed')"),
    )


def downgrade() -> None:
    op.drop_index("builds_claimable_idx", table_name="builds", schema=SCHEMA)
    op.drop_table("builds", schema=SCHEMA)
