"""`sort=rating`: the damped mean of a model's stars as a generated column, indexed with the id,
so rating-ordered keyset pages are read from an index instead of sorting every visible model.

Five imaginary votes of 3 stars damp the mean (one 5-star rating does not outrank a hundred
4.8s); a model without ratings scores 0 and comes last. Postgres keeps the column in step with
`rating_total` and `rating_count` on every write, so no code path can forget it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"
RATING_SCORE = (
    "CASE WHEN rating_count = 0 THEN 0::double precision "
    "ELSE (rating_total + 15)::double precision / (rating_count + 5) END"
)


def upgrade() -> None:
    op.add_column(
        "models",
        sa.Column(
            "rating_score",
            sa.Double(),
            sa.Computed(RATING_SCORE, persisted=True),
            nullable=False,
        ),
        schema=SCHEMA,
    )
    op.create_index("models_rating_idx", "models", ["rating_score", "id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("models_rating_idx", table_name="models", schema=SCHEMA)
    op.drop_column("models", "rating_score", schema=SCHEMA)
