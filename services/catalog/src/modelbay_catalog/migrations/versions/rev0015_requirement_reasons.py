"""Why each requirement of a version was inferred (ModelUploaded.requirement_reasons), shown on
the version's page with its requirements (docs/catalog.md).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"


def upgrade() -> None:
    # Versions uploaded before this revision had their reasons only in the event: an empty
    # list, which the detail answers as "no reasons recorded".
    op.add_column(
        "versions",
        sa.Column("requirement_reasons", postgresql.JSONB(), nullable=False, server_default="[]"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("versions", "requirement_reasons", schema=SCHEMA)
