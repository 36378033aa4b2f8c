"""How long the builder took to sign a version's image and provenance (ImageBuilt.signing_seconds),
shown in the version's timings (issue 12).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"


def upgrade() -> None:
    op.add_column(
        "versions", sa.Column("signing_seconds", sa.Float(), nullable=True), schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_column("versions", "signing_seconds", schema=SCHEMA)
