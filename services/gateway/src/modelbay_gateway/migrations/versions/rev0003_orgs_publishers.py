"""Organisations with members and roles, and the publisher right of a user.

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

SCHEMA = "gateway"


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("is_publisher", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "orgs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="orgs_pkey"),
        sa.UniqueConstraint("name", name="orgs_name_key"),
        schema=SCHEMA,
    )
    op.create_table(
        "org_members",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("added_by", sa.Text(), nullable=False),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], [f"{SCHEMA}.orgs.id"], name="org_members_org_id_fkey", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            [f"{SCHEMA}.users.id"],
            name="org_members_user_id_fkey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "user_id", name="org_members_pkey"),
        sa.CheckConstraint(
            "role IN ('owner', 'maintainer', 'reader')", name="org_members_role_check"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_org_members_user_id", "org_members", ["user_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_org_members_user_id", table_name="org_members", schema=SCHEMA)
    op.drop_table("org_members", schema=SCHEMA)
    op.drop_table("orgs", schema=SCHEMA)
    op.drop_column("users", "is_publisher", schema=SCHEMA)
