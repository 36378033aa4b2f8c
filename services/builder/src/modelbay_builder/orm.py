"""ORM rows of the `builder` schema. They never leave `store.py`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "builder"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class BuildRow(Base):
    """One image build per model version: the request, its progress and its outcome."""

    __tablename__ = "builds"
    __table_args__ = (
        UniqueConstraint("owner", "name", "version", name="builds_version_key"),
        # The worker's claim query: queued builds in arrival order, and stale claims.
        Index(
            "builds_claimable_idx",
            "queued_at",
            postgresql_where=text("status NOT IN ('succeeded','failed')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(as_uuid=True), primary_key=True)
    owner: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    # The DependenciesResolved event that asked for it, kept whole: a re-claimed build needs it.
    request: Mapped[dict[str, Any]] = mapped_column(JSONB)
    lock_hash: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    failure_kind: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    log_tail: Mapped[str] = mapped_column(Text, server_default="")
    image_ref: Mapped[str | None] = mapped_column(Text)
    image_id: Mapped[str | None] = mapped_column(Text)
    image_digest: Mapped[str | None] = mapped_column(Text)
    image_size: Mapped[int | None] = mapped_column(BigInteger)
    sbom_uri: Mapped[str | None] = mapped_column(Text)
    dependency_layer_cached: Mapped[bool | None] = mapped_column(Boolean)
    build_seconds: Mapped[float | None] = mapped_column(Float)
    validation_seconds: Mapped[float | None] = mapped_column(Float)
    push_seconds: Mapped[float | None] = mapped_column(Float)
    # For deployment artifacts (docs/deploy-models.md): memory of the validated server at
    # rest, and a solution's nodes (`{node id: owner/name:version}` from its manifest).
    idle_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    solution_nodes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The image's gRPC port (OIP v2 + the model's service); null when it serves none.
    grpc_port: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    worker_id: Mapped[str | None] = mapped_column(Text)
    # Who holds the claim: a builder restarted on the same host requeues its dead predecessor's
    # builds at once (pid gone) instead of waiting for the heartbeat to go stale (claimant.py).
    claimant_host: Mapped[str | None] = mapped_column(Text)
    claimant_pid: Mapped[int | None] = mapped_column(Integer)
    claimant_pid_namespace: Mapped[str | None] = mapped_column(Text)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
