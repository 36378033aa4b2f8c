"""Create the catalog's models, versions and download counts, with the full-text index.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"
STATUSES = "'uploaded', 'resolving', 'building', 'ready', 'failed'"
VISIBILITIES = "'private', 'org', 'public'"
DOWNLOAD_KINDS = "'bundle', 'proto', 'openapi', 'sbom', 'image'"


def _created_updated() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def _text_array(name: str) -> sa.Column[object]:
    return sa.Column(name, postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}")


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("owner_org", sa.Text(), nullable=True),
        sa.Column("visibility", sa.Text(), nullable=False, server_default="private"),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("license", sa.Text(), nullable=True),
        _text_array("tags"),
        sa.Column("latest_version", sa.Integer(), nullable=True),
        sa.Column("latest_status", sa.Text(), nullable=True),
        _text_array("libraries"),
        sa.Column("interface_terms", sa.Text(), nullable=False, server_default=""),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Text(), nullable=True),
        sa.Column("search_vector", postgresql.TSVECTOR(), nullable=False, server_default=""),
        *_created_updated(),
        sa.UniqueConstraint("owner", "name", name="models_owner_name_key"),
        sa.CheckConstraint(f"visibility IN ({VISIBILITIES})", name="models_visibility_check"),
        sa.CheckConstraint(
            f"latest_status IS NULL OR latest_status IN ({STATUSES})",
            name="models_latest_status_check",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "models_search_idx", "models", ["search_vector"], schema=SCHEMA, postgresql_using="gin"
    )
    op.create_index(
        "models_libraries_idx", "models", ["libraries"], schema=SCHEMA, postgresql_using="gin"
    )
    op.create_index("models_category_idx", "models", ["category"], schema=SCHEMA)
    op.create_table(
        "versions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "model_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("failure_detail", sa.Text(), nullable=True),
        sa.Column("failure_sample", postgresql.JSONB(), nullable=True),
        sa.Column("upload_id", sa.Text(), nullable=True),
        sa.Column("bundle_uri", sa.Text(), nullable=True),
        sa.Column("bundle_sha256", sa.Text(), nullable=True),
        sa.Column("bundle_size", sa.BigInteger(), nullable=True),
        sa.Column("python_version", sa.Text(), nullable=True),
        _text_array("requirements"),
        _text_array("methods"),
        sa.Column("interface", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column("uploaded_by", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("license", sa.Text(), nullable=True),
        _text_array("lock"),
        sa.Column("lock_hash", sa.Text(), nullable=True),
        sa.Column("wheelhouse_uri", sa.Text(), nullable=True),
        sa.Column("wheelhouse_reused", sa.Boolean(), nullable=True),
        sa.Column("image_ref", sa.Text(), nullable=True),
        sa.Column("image_digest", sa.Text(), nullable=True),
        sa.Column("image_size", sa.BigInteger(), nullable=True),
        sa.Column("sbom_uri", sa.Text(), nullable=True),
        sa.Column("dependency_layer_cached", sa.Boolean(), nullable=True),
        sa.Column("build_seconds", sa.Float(), nullable=True),
        sa.Column("validation_seconds", sa.Float(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_created_updated(),
        sa.UniqueConstraint("model_id", "version", name="versions_model_version_key"),
        sa.CheckConstraint("version >= 1", name="versions_version_check"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="versions_status_check"),
        schema=SCHEMA,
    )
    op.create_table(
        "download_counts",
        sa.Column(
            "version_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("version_id", "kind", name="download_counts_pkey"),
        sa.CheckConstraint(f"kind IN ({DOWNLOAD_KINDS})", name="download_counts_kind_check"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("download_counts", schema=SCHEMA)
    op.drop_table("versions", schema=SCHEMA)
    op.drop_index("models_category_idx", table_name="models", schema=SCHEMA)
    op.drop_index("models_libraries_idx", table_name="models", schema=SCHEMA)
    op.drop_index("models_search_idx", table_name="models", schema=SCHEMA)
    op.drop_table("models", schema=SCHEMA)
