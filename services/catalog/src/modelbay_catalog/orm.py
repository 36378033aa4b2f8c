"""ORM rows of the `catalog` schema. They never leave store.py; Alembic owns the DDL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    Double,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "catalog"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class ModelRow(Base):
    """A model `owner/name`, its sharing settings and a summary of its newest version."""

    __tablename__ = "models"
    __table_args__ = (
        UniqueConstraint("owner", "name", name="models_owner_name_key"),
        Index("models_search_idx", "search_vector", postgresql_using="gin"),
        Index("models_libraries_idx", "libraries", postgresql_using="gin"),
        Index("models_category_idx", "category"),
        # Keyset pages of `sort=downloads` (read backwards for DESC, DESC).
        Index("models_downloads_idx", "downloads", "id"),
        # Keyset pages of `sort=rating` (migration 0006).
        Index("models_rating_idx", "rating_score", "id"),
        # The `kind=solution` filter (migration 0011).
        Index("models_kind_idx", "kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    owner: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    owner_org: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(Text, server_default="private")
    description: Mapped[str] = mapped_column(Text, server_default="")
    category: Mapped[str | None] = mapped_column(Text)
    license: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    # Summary of the newest version, kept here so that search needs no join.
    latest_version: Mapped[int | None] = mapped_column(Integer)
    latest_status: Mapped[str | None] = mapped_column(Text)
    libraries: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    interface_terms: Mapped[str] = mapped_column(Text, server_default="")
    published_version: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(Text)
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, server_default="")
    # Community counters, kept here (like `downloads`) so that cards and sorts need no join;
    # each changes in the transaction of the rating, star or view (modelbay_catalog.social).
    rating_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rating_total: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rating_histogram: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), server_default="{0,0,0,0,0}"
    )
    # What `sort=rating` orders by, kept by Postgres from the two counters above: the mean of
    # the stars damped towards 3 by five imaginary votes; 0 (last) without ratings.
    rating_score: Mapped[float] = mapped_column(
        Double,
        Computed(
            "CASE WHEN rating_count = 0 THEN 0::double precision "
            "ELSE (rating_total + 15)::double precision / (rating_count + 5) END",
            persisted=True,
        ),
    )
    favourites: Mapped[int] = mapped_column(BigInteger, server_default="0")
    views: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Every download of every version, kept here so that sorting by downloads needs no join.
    downloads: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # `model` or `solution`: the kind of the newest described version, for search without a join.
    kind: Mapped[str] = mapped_column(Text, server_default="model")
    # A soft delete (docs/catalog.md, "Deleting a model"): the row stays, hidden from every read,
    # so that the name is never reused and late pipeline events still find their version.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class VersionRow(Base):
    """One version of a model; the columns mirror `lifecycle.VersionState`."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("model_id", "version", name="versions_model_version_key"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    failure_detail: Mapped[str | None] = mapped_column(Text)
    failure_sample: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    upload_id: Mapped[str | None] = mapped_column(Text)
    bundle_uri: Mapped[str | None] = mapped_column(Text)
    bundle_sha256: Mapped[str | None] = mapped_column(Text)
    bundle_size: Mapped[int | None] = mapped_column(BigInteger)
    python_version: Mapped[str | None] = mapped_column(Text)
    requirements: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    methods: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    interface: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    uploaded_by: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    license: Mapped[str | None] = mapped_column(Text)
    lock: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    lock_hash: Mapped[str | None] = mapped_column(Text)
    wheelhouse_uri: Mapped[str | None] = mapped_column(Text)
    wheelhouse_reused: Mapped[bool | None] = mapped_column(Boolean)
    # ModelUploaded.requirement_reasons: [{name, reasons}] (requirement_reasons.py).
    requirement_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    # DependenciesResolved.system_packages: [{name, version, reasons, fetched}] (lifecycle.py).
    system_packages: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    image_ref: Mapped[str | None] = mapped_column(Text)
    image_digest: Mapped[str | None] = mapped_column(Text)
    image_size: Mapped[int | None] = mapped_column(BigInteger)
    sbom_uri: Mapped[str | None] = mapped_column(Text)
    provenance_uri: Mapped[str | None] = mapped_column(Text)
    provenance_sha256: Mapped[str | None] = mapped_column(Text)
    dependency_layer_cached: Mapped[bool | None] = mapped_column(Boolean)
    build_seconds: Mapped[float | None] = mapped_column(Float)
    validation_seconds: Mapped[float | None] = mapped_column(Float)
    signing_seconds: Mapped[float | None] = mapped_column(Float)
    views: Mapped[int] = mapped_column(BigInteger, server_default="0")
    uploaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The serialized FileDescriptorSet from ModelUploaded, kept to diff the next version with.
    descriptor_set: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Onboarding's scan of the bundle's pickle (ModelUploaded.pickle_scan), shown on the version.
    pickle_scan: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # `model` or `solution` (ModelUploaded.kind); a solution's nodes from ModelUploaded.nodes.
    kind: Mapped[str] = mapped_column(Text, server_default="model")
    nodes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    # The interface diff to the nearest earlier version with a known descriptor set.
    interface_compared_to: Mapped[int | None] = mapped_column(Integer)
    interface_breaking: Mapped[bool | None] = mapped_column(Boolean)
    interface_changes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    # The trace of the push that made the version (W3C trace id, 32 hex digits): the trace id
    # of the first event about it that carried one (docs/operations.md, "Traces").
    trace_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ModelSearchRow(Base):
    """What a relevance search matches, filters and ranks on, one narrow row per model that is
    not deleted: a match read from here costs about half a page instead of a whole one.
    Written only by the trigger `model_search_sync` on `models` (migration 0016)."""

    __tablename__ = "model_search"
    __table_args__ = (
        Index("model_search_vector_idx", "search_vector", postgresql_using="gin"),
        # The rows a caller sees beyond the public ones, for the facet counts (migration 0018).
        Index("model_search_owner_idx", "owner"),
        Index("model_search_org_idx", "owner_org", postgresql_where=text("visibility = 'org'")),
    )

    model_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"), primary_key=True
    )
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, nullable=False, server_default="")
    visibility: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(Text)
    owner_org: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    license: Mapped[str | None] = mapped_column(Text)
    libraries: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    latest_status: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, server_default="model")


class SearchPostingRow(Base):
    """One lexeme of a model's search vector with its rank term (`score`, the function
    `search_posting_score`) and the columns the visibility rule and the category filter need,
    so that a one-word search ranks from narrow index-only rows (store_search.py). Written only
    by the trigger `search_postings_sync` on `model_search` (migration 0017)."""

    __tablename__ = "search_postings"
    __table_args__ = (
        Index(
            "search_postings_word_idx",
            "word",
            "score",
            "model_id",
            postgresql_include=["visibility", "owner", "owner_org", "category"],
        ),
    )

    model_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey(f"{SCHEMA}.model_search.model_id", ondelete="CASCADE"),
        primary_key=True,
    )
    word: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    score: Mapped[float] = mapped_column(Double)
    visibility: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(Text)
    owner_org: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)


class SearchFacetCountRow(Base):
    """How many public models with lexeme `word` ('' : every public model) in `scope` (their
    category; '': any) have `value` in `facet`, for facet counts without reading the matches
    (search_facets.py). Written only by the trigger `search_facet_counts_sync` on
    `model_search` (migration 0018); a count of 0 stays as a row."""

    __tablename__ = "search_facet_counts"
    __table_args__ = (
        Index("search_facet_counts_top_idx", "word", "scope", "facet", text("count DESC"), "value"),
    )

    word: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    facet: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class SearchWordRow(Base):
    """A word of some model's searchable text: what a mistyped query word is corrected to.

    Words are added when a model's search document changes and never removed (see
    docs/catalog.md, "Search"): a stale word can only add an alternative that matches nothing.
    """

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(Text, primary_key=True)


class SearchWordDeleteRow(Base):
    """One deletion variant of a vocabulary word (spelling.deletion_variants at MAX_EDITS): a
    mistyped word's own deletion variants found here are its candidate corrections. Written only
    by the trigger `search_word_deletes_sync` on `search_words` (migration 0019)."""

    __tablename__ = "search_word_deletes"

    variant: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    word: Mapped[str] = mapped_column(Text, primary_key=True)


class DownloadCountRow(Base):
    """How often one artifact kind of one version was downloaded."""

    __tablename__ = "download_counts"

    version_id: Mapped[int] = mapped_column(
        ForeignKey(f"{SCHEMA}.versions.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, server_default="0")


class RatingRow(Base):
    """One user's rating of a model (one per user and model; rating again edits it)."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("model_id", "username", name="ratings_model_user_key"),
        Index("ratings_model_page_idx", "model_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(Text)
    stars: Mapped[int] = mapped_column(SmallInteger)
    review: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CommentRow(Base):
    """A comment on a version; replies point at their parent and at the thread's first comment.

    Deleting keeps the row (its text cleared) so that replies keep their place in the thread.
    """

    __tablename__ = "comments"
    __table_args__ = (
        Index("comments_version_page_idx", "version_id", "id"),
        Index("comments_thread_idx", "root_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.versions.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.comments.id"))
    root_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.comments.id"))
    depth: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    author: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str | None] = mapped_column(Text)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_by: Mapped[str | None] = mapped_column(Text)
    hidden_reason: Mapped[str | None] = mapped_column(Text)


class FavouriteRow(Base):
    """A user's star on a model."""

    __tablename__ = "favourites"
    # "My favourites", newest first, read in index order (the model id breaks ties).
    __table_args__ = (Index("favourites_user_idx", "username", "created_at", "model_id"),)

    model_id: Mapped[int] = mapped_column(
        ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"), primary_key=True
    )
    username: Mapped[str] = mapped_column(Text, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AliasRow(Base):
    """A name (`stable`, ...) for one version of a model, moved by its maintainers.

    `latest` is never stored: it is the newest ready version, computed when asked.
    """

    __tablename__ = "aliases"

    model_id: Mapped[int] = mapped_column(
        ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    moved_by: Mapped[str] = mapped_column(Text)
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PublishRequestRow(Base):
    """A publication to `public` waiting for a publisher (PUBLISH_APPROVAL=required), and how
    it was decided. At most one request of a model is pending (a partial unique index)."""

    __tablename__ = "publish_requests"
    __table_args__ = (
        Index(
            "publish_requests_one_pending_idx",
            "model_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index("publish_requests_status_idx", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    visibility: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    license: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str | None] = mapped_column(Text)


# Federation's tables are declared in their subpackage, on this Base; imported here so that every
# table of the schema is in this one metadata (the migration tests compare it with Alembic).
from modelbay_catalog.federation import orm as _federation_orm  # noqa: E402, F401
