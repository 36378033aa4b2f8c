"""The artifact garbage collector's query over the catalog (api_gc.py): every version with its
model's deletion, status and the artifacts it references."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.orm import ModelRow, VersionRow


@dataclass(frozen=True)
class VersionArtifacts:
    owner: str
    name: str
    version: int
    status: str
    model_deleted: bool
    bundle_sha256: str | None
    lock_hash: str | None


class GcStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def version_artifacts(self) -> list[VersionArtifacts]:
        rows = await self._session.execute(
            select(
                ModelRow.owner,
                ModelRow.name,
                VersionRow.version,
                VersionRow.status,
                ModelRow.deleted_at.is_not(None),
                VersionRow.bundle_sha256,
                VersionRow.lock_hash,
            )
            .join(ModelRow, VersionRow.model_id == ModelRow.id)
            .order_by(ModelRow.owner, ModelRow.name, VersionRow.version)
        )
        return [VersionArtifacts(*row) for row in rows]
