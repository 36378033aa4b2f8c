"""The Debian packages a version's image got (DependenciesResolved.system_packages), shown on
the version with its requirements (docs/system-packages.md).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"


def upgrade() -> None:
    # Versions resolved before this revision had their packages only in the event: an empty
    # list, as for a version that needed none.
    op.add_column(
        "versions",
        sa.Column("system_packages", postgresql.JSONB(), nullable=False, server_default="[]"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("versions", "system_packages", schema=SCHEMA)
