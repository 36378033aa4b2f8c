"""The trace id of the push that made a version (issue 15): shown in the version's detail so an
operator finds the push's trace in the tracing backend.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"


def upgrade() -> None:
    op.add_column("versions", sa.Column("trace_id", sa.Text(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("versions", "trace_id", schema=SCHEMA)
