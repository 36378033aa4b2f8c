"""Ratings with reviews, threaded comments per version, favourites, and view counters.

The model row keeps the community counters (rating count, sum and histogram, favourites,
views) so that cards and sorts need no join; the version row keeps its own views. Existing
models start at zero: nothing was rated, starred or viewed before this revision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"
# The bounds of modelbay_common.contracts.social, enforced again by the database.
MAX_REVIEW_LENGTH = 5_000
MAX_COMMENT_LENGTH = 5_000
MAX_REASON_LENGTH = 500


def _counter(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _model_fk() -> sa.Column[object]:
    return sa.Column(
        "model_id",
        sa.BigInteger(),
        sa.ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    for name in ("rating_count", "rating_total", "favourites", "views"):
        op.add_column("models", _counter(name), schema=SCHEMA)
    op.add_column(
        "models",
        sa.Column(
            "rating_histogram",
            postgresql.ARRAY(sa.BigInteger()),
            nullable=False,
            server_default="{0,0,0,0,0}",
        ),
        schema=SCHEMA,
    )
    op.create_check_constraint(
        "models_rating_histogram_check",
        "models",
        "cardinality(rating_histogram) = 5",
        schema=SCHEMA,
    )
    op.add_column("versions", _counter("views"), schema=SCHEMA)

    op.create_table(
        "ratings",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        _model_fk(),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("stars", sa.SmallInteger(), nullable=False),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.UniqueConstraint("model_id", "username", name="ratings_model_user_key"),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ratings_stars_check"),
        sa.CheckConstraint(
            f"review IS NULL OR char_length(review) BETWEEN 1 AND {MAX_REVIEW_LENGTH}",
            name="ratings_review_check",
        ),
        schema=SCHEMA,
    )
    op.create_index("ratings_model_page_idx", "ratings", ["model_id", "id"], schema=SCHEMA)

    op.create_table(
        "comments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        _model_fk(),
        sa.Column(
            "version_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "parent_id", sa.BigInteger(), sa.ForeignKey(f"{SCHEMA}.comments.id"), nullable=True
        ),
        sa.Column(
            "root_id", sa.BigInteger(), sa.ForeignKey(f"{SCHEMA}.comments.id"), nullable=True
        ),
        sa.Column("depth", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        _now("created_at"),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.Text(), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_by", sa.Text(), nullable=True),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        # A comment has its text until it is deleted, and none after.
        sa.CheckConstraint(
            f"(deleted_at IS NULL) = (body IS NOT NULL) "
            f"AND (body IS NULL OR char_length(body) BETWEEN 1 AND {MAX_COMMENT_LENGTH})",
            name="comments_body_check",
        ),
        sa.CheckConstraint(
            f"hidden_reason IS NULL OR char_length(hidden_reason) <= {MAX_REASON_LENGTH}",
            name="comments_hidden_reason_check",
        ),
        sa.CheckConstraint(
            "(parent_id IS NULL) = (root_id IS NULL) AND (parent_id IS NULL) = (depth = 0)",
            name="comments_thread_check",
        ),
        schema=SCHEMA,
    )
    op.create_index("comments_version_page_idx", "comments", ["version_id", "id"], schema=SCHEMA)
    op.create_index("comments_thread_idx", "comments", ["root_id", "id"], schema=SCHEMA)

    op.create_table(
        "favourites",
        _model_fk(),
        sa.Column("username", sa.Text(), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("model_id", "username", name="favourites_pkey"),
        schema=SCHEMA,
    )
    op.create_index(
        "favourites_user_idx", "favourites", ["username", "created_at", "model_id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("favourites_user_idx", table_name="favourites", schema=SCHEMA)
    op.drop_table("favourites", schema=SCHEMA)
    op.drop_index("comments_thread_idx", table_name="comments", schema=SCHEMA)
    op.drop_index("comments_version_page_idx", table_name="comments", schema=SCHEMA)
    op.drop_table("comments", schema=SCHEMA)
    op.drop_index("ratings_model_page_idx", table_name="ratings", schema=SCHEMA)
    op.drop_table("ratings", schema=SCHEMA)
    op.drop_column("versions", "views", schema=SCHEMA)
    op.drop_constraint("models_rating_histogram_check", "models", schema=SCHEMA)
    for name in ("rating_histogram", "views", "favourites", "rating_total", "rating_count"):
        op.drop_column("models", name, schema=SCHEMA)
