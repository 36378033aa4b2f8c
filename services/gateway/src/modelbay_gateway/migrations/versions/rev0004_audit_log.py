"""The audit log: publish, visibility, token, organisation and administrator actions.

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

SCHEMA = "gateway"


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column(
            "details", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="audit_log_pkey"),
        sa.UniqueConstraint("event_id", name="audit_log_event_id_key"),
        schema=SCHEMA,
    )
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor", "id"], schema=SCHEMA)
    op.create_index("ix_audit_log_action_id", "audit_log", ["action", "id"], schema=SCHEMA)
    op.create_index("ix_audit_log_at", "audit_log", ["at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("audit_log", schema=SCHEMA)
