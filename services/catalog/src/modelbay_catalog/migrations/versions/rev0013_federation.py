"""Federation (issue 12, docs/federation.md): this instance's changes feed, its peers, and the
models and versions it mirrors from them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _at(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _texts(name: str) -> sa.Column[object]:
    return sa.Column(name, postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}")


def upgrade() -> None:
    op.create_table(
        "federation_changes",
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "model_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("seq", name="federation_changes_pkey"),
        schema=SCHEMA,
    )
    op.create_index(
        "federation_changes_model_idx", "federation_changes", ["model_id"], schema=SCHEMA
    )
    op.create_table(
        "federation_peers",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("subscribe_all", sa.Boolean(), nullable=False, server_default="false"),
        _texts("owners"),
        _texts("categories"),
        _texts("tags"),
        sa.Column(
            "public_keys",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default="[]",
        ),
        _at("keys_fetched_at"),
        sa.Column("cursor", sa.Text(), nullable=False, server_default="0"),
        _at("last_success_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("last_error_at"),
        _now("next_attempt_at"),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_by", sa.Text(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="federation_peers_pkey"),
        sa.UniqueConstraint("name", name="federation_peers_name_key"),
        schema=SCHEMA,
    )
    op.create_index(
        "federation_peers_due_idx", "federation_peers", ["next_attempt_at"], schema=SCHEMA
    )
    op.create_table(
        "federation_mirrored_models",
        sa.Column(
            "model_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "peer_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.federation_peers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("origin_owner", sa.Text(), nullable=False),
        sa.Column("origin_name", sa.Text(), nullable=False),
        _at("withdrawn_at"),
        _now("created_at"),
        sa.PrimaryKeyConstraint("model_id", name="federation_mirrored_models_pkey"),
        sa.UniqueConstraint(
            "peer_id", "origin_owner", "origin_name", name="federation_mirrored_models_origin_key"
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "federation_mirrored_versions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "model_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.federation_mirrored_models.model_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("retryable", sa.Boolean(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        _at("next_attempt_at"),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("verified_key_id", sa.Text(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="federation_mirrored_versions_pkey"),
        sa.UniqueConstraint("model_id", "version", name="federation_mirrored_versions_key"),
        schema=SCHEMA,
    )
    op.create_index(
        "federation_mirrored_versions_retry_idx",
        "federation_mirrored_versions",
        ["state", "next_attempt_at"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("federation_mirrored_versions", schema=SCHEMA)
    op.drop_table("federation_mirrored_models", schema=SCHEMA)
    op.drop_table("federation_peers", schema=SCHEMA)
    op.drop_table("federation_changes", schema=SCHEMA)
