"""Every query of the onboarding service. Rows stay here; callers get plain records.

Stores only flush: the entrypoint (request or consumer wrapper) owns the transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_onboarding.orm import (
    ModelSequenceRow,
    RequirementLockRow,
    ResolutionRow,
    UploadRow,
    WheelhouseRow,
)


@dataclass(frozen=True)
class NewUpload:
    id: uuid.UUID
    owner: str
    name: str
    version: int
    bundle_key: str
    bundle_sha256: str
    bundle_size: int
    python_version: str
    requirements: tuple[str, ...]
    methods: tuple[str, ...]
    uploaded_by: str
    pickle_scan: dict[str, Any] | None = None


@dataclass(frozen=True)
class CachedLock:
    requirements_hash: str
    lock: tuple[str, ...]
    lock_hash: str


@dataclass(frozen=True)
class StoredWheelhouse:
    lock_hash: str
    blob_key: str
    size: int
    sha256: str
    wheel_count: int


@dataclass(frozen=True)
class ResolutionOutcome:
    owner: str
    name: str
    version: int
    status: str
    lock_hash: str | None = None
    wheelhouse_reused: bool | None = None
    reason: str | None = None
    details: dict[str, Any] | None = None


class OnboardingStore:
    """The onboarding schema's queries over one session (the caller's transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def take_next_version(self, owner: str, name: str) -> int:
        """The next version of `owner/name`; the sequence row stays locked until the commit, so
        concurrent uploads of one model get distinct, gap-free numbers (a rollback frees it)."""
        await self._session.execute(
            insert(ModelSequenceRow)
            .values(owner=owner, name=name, last_version=0)
            .on_conflict_do_nothing(index_elements=["owner", "name"])
        )
        last = await self._session.scalar(
            select(ModelSequenceRow.last_version)
            .where(ModelSequenceRow.owner == owner, ModelSequenceRow.name == name)
            .with_for_update()
        )
        version = int(last or 0) + 1
        await self._session.execute(
            update(ModelSequenceRow)
            .where(ModelSequenceRow.owner == owner, ModelSequenceRow.name == name)
            .values(last_version=version)
        )
        return version

    async def add_upload(self, upload: NewUpload) -> None:
        self._session.add(
            UploadRow(
                id=upload.id,
                owner=upload.owner,
                name=upload.name,
                version=upload.version,
                bundle_key=upload.bundle_key,
                bundle_sha256=upload.bundle_sha256,
                bundle_size=upload.bundle_size,
                python_version=upload.python_version,
                requirements=list(upload.requirements),
                methods=list(upload.methods),
                uploaded_by=upload.uploaded_by,
                pickle_scan=upload.pickle_scan,
            )
        )
        await self._session.flush()

    async def find_lock(self, requirements_hash: str) -> CachedLock | None:
        row = await self._session.get(RequirementLockRow, requirements_hash)
        if row is None:
            return None
        return CachedLock(row.requirements_hash, tuple(row.lock), row.lock_hash)

    async def save_lock(
        self,
        lock: CachedLock,
        *,
        python_version: str,
        platform: str,
        requirements: tuple[str, ...],
    ) -> None:
        """Remember a lock; a concurrent resolver that saved the same one first wins quietly."""
        await self._session.execute(
            insert(RequirementLockRow)
            .values(
                requirements_hash=lock.requirements_hash,
                python_version=python_version,
                platform=platform,
                requirements=list(requirements),
                lock=list(lock.lock),
                lock_hash=lock.lock_hash,
            )
            .on_conflict_do_nothing(index_elements=["requirements_hash"])
        )

    async def save_wheelhouse(self, wheelhouse: StoredWheelhouse) -> None:
        await self._session.execute(
            insert(WheelhouseRow)
            .values(
                lock_hash=wheelhouse.lock_hash,
                blob_key=wheelhouse.blob_key,
                size=wheelhouse.size,
                sha256=wheelhouse.sha256,
                wheel_count=wheelhouse.wheel_count,
            )
            .on_conflict_do_nothing(index_elements=["lock_hash"])
        )

    async def record_resolution(self, outcome: ResolutionOutcome) -> None:
        values = {
            "status": outcome.status,
            "lock_hash": outcome.lock_hash,
            "wheelhouse_reused": outcome.wheelhouse_reused,
            "reason": outcome.reason,
            "details": outcome.details,
        }
        await self._session.execute(
            insert(ResolutionRow)
            .values(owner=outcome.owner, name=outcome.name, version=outcome.version, **values)
            .on_conflict_do_update(index_elements=["owner", "name", "version"], set_=values)
        )
