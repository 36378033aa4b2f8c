"""Aliases of versions (`stable`, ...) and publish requests waiting for a publisher.

`latest` is not stored (it is the newest ready version). At most one request of a model is
pending, which a partial unique index holds even against concurrent publishes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"


def _model_fk() -> sa.Column[object]:
    return sa.Column(
        "model_id",
        sa.BigInteger(),
        sa.ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"),
        nullable=False,
    )


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "aliases",
        _model_fk(),
        sa.Column("alias", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("moved_by", sa.Text(), nullable=False),
        _now("moved_at"),
        sa.PrimaryKeyConstraint("model_id", "alias", name="aliases_pkey"),
        schema=SCHEMA,
    )
    op.create_table(
        "publish_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _model_fk(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("license", sa.Text(), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("status", sa.Text(), nullable=False, server_default="pending"),
        sa.Column("requested_by", sa.Text(), nullable=False),
        _now("requested_at"),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="publish_requests_pkey"),
        schema=SCHEMA,
    )
    op.create_index(
        "publish_requests_one_pending_idx",
        "publish_requests",
        ["model_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "publish_requests_status_idx", "publish_requests", ["status", "id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("publish_requests_status_idx", table_name="publish_requests", schema=SCHEMA)
    op.drop_index("publish_requests_one_pending_idx", table_name="publish_requests", schema=SCHEMA)
    op.drop_table("publish_requests", schema=SCHEMA)
    op.drop_table("aliases", schema=SCHEMA)
