"""Uploads, the per-model version sequence, the lock cache, wheelhouses and resolutions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "onboarding"


def _created_at() -> sa.Column[datetime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "model_sequences",
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "name", name="model_sequences_pkey"),
        schema=SCHEMA,
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("bundle_key", sa.Text(), nullable=False),
        sa.Column("bundle_sha256", sa.Text(), nullable=False),
        sa.Column("bundle_size", sa.BigInteger(), nullable=False),
        sa.Column("python_version", sa.Text(), nullable=False),
        sa.Column("requirements", postgresql.JSONB(), nullable=False),
        sa.Column("methods", postgresql.JSONB(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="uploads_pkey"),
        sa.UniqueConstraint("owner", "name", "version", name="uploads_version_key"),
        schema=SCHEMA,
    )
    op.create_table(
        "requirement_locks",
        sa.Column("requirements_hash", sa.Text(), nullable=False),
        sa.Column("python_version", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("requirements", postgresql.JSONB(), nullable=False),
        sa.Column("lock", postgresql.JSONB(), nullable=False),
        sa.Column("lock_hash", sa.Text(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("requirements_hash", name="requirement_locks_pkey"),
        schema=SCHEMA,
    )
    op.create_table(
        "wheelhouses",
        sa.Column("lock_hash", sa.Text(), nullable=False),
        sa.Column("blob_key", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("wheel_count", sa.Integer(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("lock_hash", name="wheelhouses_pkey"),
        schema=SCHEMA,
    )
    op.create_table(
        "resolutions",
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("lock_hash", sa.Text(), nullable=True),
        sa.Column("wheelhouse_reused", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("owner", "name", "version", name="resolutions_pkey"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("resolutions", "wheelhouses", "requirement_locks", "uploads", "model_sequences"):
        op.drop_table(table, schema=SCHEMA)
