"""Tables of federation, in the catalog's schema and metadata (migration 0012).

They never leave `federation/store.py`. `modelbay_catalog.orm` imports this module at its end,
so that every table of the schema is in one metadata (the migration tests compare it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from modelbay_catalog.orm import SCHEMA, Base


class ChangeRow(Base):
    """One entry of this instance's changes feed (`GET /v1/federation/changes`), appended in the
    transaction of the change: a public version became ready or was published (`published`),
    or a public model stopped being public or was deleted (`withdrawn`, `version` null).

    The feed is read by `seq` (the cursor); an entry's details are read when it is served, so a
    `published` entry of a model that is no longer public is skipped (its `withdrawn` follows).
    """

    __tablename__ = "federation_changes"
    __table_args__ = (Index("federation_changes_model_idx", "model_id"),)

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PeerRow(Base):
    """Another Modelbay instance this one mirrors public versions from, and how that goes."""

    __tablename__ = "federation_peers"
    __table_args__ = (
        UniqueConstraint("name", name="federation_peers_name_key"),
        Index("federation_peers_due_idx", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    # An API token of an account on the peer (issued by its administrator); never on the bus.
    token: Mapped[str] = mapped_column(Text)
    # Subscriptions: every public model, or those matching any owner, category or tag listed.
    subscribe_all: Mapped[bool] = mapped_column(Boolean, server_default="false")
    owners: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    categories: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    # The peer's public signing keys pinned at registration (`[{"key_id", "pem"}]`).
    public_keys: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    keys_fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cursor: Mapped[str] = mapped_column(Text, server_default="0")
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MirroredModelRow(Base):
    """A local model that is a read-only mirror of a peer's model."""

    __tablename__ = "federation_mirrored_models"
    __table_args__ = (
        UniqueConstraint(
            "peer_id", "origin_owner", "origin_name", name="federation_mirrored_models_origin_key"
        ),
    )

    model_id: Mapped[int] = mapped_column(
        ForeignKey(f"{SCHEMA}.models.id", ondelete="CASCADE"), primary_key=True
    )
    peer_id: Mapped[int] = mapped_column(
        ForeignKey(f"{SCHEMA}.federation_peers.id", ondelete="CASCADE")
    )
    origin_owner: Mapped[str] = mapped_column(Text)
    origin_name: Mapped[str] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MirroredVersionRow(Base):
    """One version of a peer being (or having been) copied here, with what the copy needs."""

    __tablename__ = "federation_mirrored_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="federation_mirrored_versions_key"),
        Index("federation_mirrored_versions_retry_idx", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    model_id: Mapped[int] = mapped_column(
        ForeignKey(f"{SCHEMA}.federation_mirrored_models.model_id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)  # the same number as on the origin
    state: Mapped[str] = mapped_column(Text)  # requested, ready, failed, withdrawn
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    retryable: Mapped[bool | None] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer, server_default="1")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What MirrorRequested carries about the origin (registry, repository, digest, artifacts),
    # kept to request the copy again after a retryable failure.
    request: Mapped[dict[str, Any]] = mapped_column(JSONB)
    verified_key_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
