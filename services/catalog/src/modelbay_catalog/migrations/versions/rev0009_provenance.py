"""Signed provenance (issue 12): ImageBuilt's provenance key and SHA-256 on the version, and
`provenance` as a download kind.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"
OLD_KINDS = "'bundle', 'proto', 'openapi', 'sbom', 'image'"
NEW_KINDS = OLD_KINDS + ", 'provenance'"


def _download_kinds(kinds: str) -> None:
    op.drop_constraint("download_counts_kind_check", "download_counts", schema=SCHEMA)
    op.create_check_constraint(
        "download_counts_kind_check", "download_counts", f"kind IN ({kinds})", schema=SCHEMA
    )


def upgrade() -> None:
    op.add_column("versions", sa.Column("provenance_uri", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column(
        "versions", sa.Column("provenance_sha256", sa.Text(), nullable=True), schema=SCHEMA
    )
    _download_kinds(NEW_KINDS)


def downgrade() -> None:
    op.execute(f"DELETE FROM {SCHEMA}.download_counts WHERE kind = 'provenance'")
    _download_kinds(OLD_KINDS)
    op.drop_column("versions", "provenance_sha256", schema=SCHEMA)
    op.drop_column("versions", "provenance_uri", schema=SCHEMA)
