"""Record the gRPC port the validated image serves (deployment files declare it).

Null for images that serve no gRPC (pre-built images in other languages, solution orchestrators)
and for builds recorded before this column.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "builder"


def upgrade() -> None:
    op.add_column("builds", sa.Column("grpc_port", sa.Integer(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("builds", "grpc_port", schema=SCHEMA)
