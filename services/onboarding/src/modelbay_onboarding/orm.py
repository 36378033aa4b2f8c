"""ORM rows of the `onboarding` schema. They never leave store.py; Alembic owns the DDL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "onboarding"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class ModelSequenceRow(Base):
    """The last version number handed out per model, locked FOR UPDATE to take the next one."""

    __tablename__ = "model_sequences"

    owner: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    last_version: Mapped[int] = mapped_column(Integer, nullable=False)


class UploadRow(Base):
    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("owner", "name", "version", name="uploads_version_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    bundle_key: Mapped[str] = mapped_column(Text, nullable=False)
    bundle_sha256: Mapped[str] = mapped_column(Text, nullable=False)
    bundle_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    python_version: Mapped[str] = mapped_column(Text, nullable=False)
    requirements: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    methods: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    uploaded_by: Mapped[str] = mapped_column(Text, nullable=False)
    # The pickle scan's verdict (pickle_policy.PickleScanResult.as_json); null before scanning.
    pickle_scan: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class PickleAllowanceRow(Base):
    """A blocked pickle global an administrator allowed for one model (docs/trust.md)."""

    __tablename__ = "pickle_allowances"

    owner: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    global_name: Mapped[str] = mapped_column(Text, primary_key=True)
    allowed_by: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class RequirementLockRow(Base):
    """Cache: the lock pip produced for one requirements set on one target."""

    __tablename__ = "requirement_locks"

    requirements_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    python_version: Mapped[str] = mapped_column(Text, nullable=False)
    platform: Mapped[str] = mapped_column(Text, nullable=False)
    requirements: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    lock: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    lock_hash: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class WheelhouseRow(Base):
    """A stored wheelhouse, shared by every model whose lock has this hash."""

    __tablename__ = "wheelhouses"

    lock_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    blob_key: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(Text, nullable=False)
    wheel_count: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class ResolutionRow(Base):
    """The outcome of resolving one model version (for operators; the event is the contract)."""

    __tablename__ = "resolutions"

    owner: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(Text, nullable=False)  # "resolved" | "failed"
    lock_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    wheelhouse_reused: Mapped[bool | None] = mapped_column(nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
