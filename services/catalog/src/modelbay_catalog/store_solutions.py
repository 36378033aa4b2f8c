"""Queries about deleted models and the solutions that use a model (the rest is in store.py).

Like store.py it flushes, never commits: the entrypoint owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from modelbay_common.access import ModelAccess, Visibility
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.orm import ModelRow, VersionRow
from modelbay_catalog.records import ModelRecord
from modelbay_catalog.store import to_model_record


@dataclass(frozen=True)
class SolutionUse:
    """A version of a solution that names a version of some model as one of its nodes."""

    owner: str
    name: str
    version: int
    access: ModelAccess


class SolutionStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find_model_even_deleted(self, owner: str, name: str) -> ModelRecord | None:
        """The model `owner/name` with its `deleted_at`, deleted or not (for the build-time
        check of a solution's nodes, which must say "was deleted", not "does not exist")."""
        statement = select(ModelRow).where(ModelRow.owner == owner, ModelRow.name == name)
        found = await self._session.scalar(statement)
        return None if found is None else to_model_record(found)

    async def mark_deleted(self, model_id: int, deleted_by: str) -> datetime:
        at = datetime.now(UTC)
        await self._session.execute(
            update(ModelRow)
            .where(ModelRow.id == model_id)
            .values(deleted_at=at, deleted_by=deleted_by, updated_at=at)
        )
        return at

    async def solutions_using(self, owner: str, name: str) -> list[SolutionUse]:
        """Solution versions of models that are not deleted, not `failed`, and name a version of
        `owner/name` as a node (a failed solution never runs, so it does not hold a model)."""
        node = func.jsonb_array_elements(VersionRow.nodes).table_valued("value").alias("node")
        names_it = (
            select(node.c.value)
            .where(func.starts_with(node.c.value.op("->>")("model"), f"{owner}/{name}:"))
            .exists()
        )
        statement = (
            select(ModelRow, VersionRow.version)
            .join(VersionRow, VersionRow.model_id == ModelRow.id)
            .where(
                VersionRow.kind == "solution",
                VersionRow.status != VersionStatus.FAILED.value,
                ModelRow.deleted_at.is_(None),
                names_it,
            )
            .order_by(ModelRow.owner, ModelRow.name, VersionRow.version)
        )
        return [
            SolutionUse(
                owner=row.owner,
                name=row.name,
                version=int(version),
                access=ModelAccess(row.owner, row.owner_org, Visibility(row.visibility)),
            )
            for row, version in await self._session.execute(statement)
        ]
