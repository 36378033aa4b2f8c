"""Queries of aliases and publish requests. Only flushes: the entrypoint owns the transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from modelbay_common.access import Visibility
from sqlalchemy import ColumnElement, Select, delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.curation.records import AliasRecord, PublishRequestRecord
from modelbay_catalog.orm import AliasRow, ModelRow, PublishRequestRow
from modelbay_catalog.records import PublishRequest


def _alias(row: AliasRow) -> AliasRecord:
    return AliasRecord(
        alias=row.alias, version=row.version, moved_by=row.moved_by, moved_at=row.moved_at
    )


def _request(row: PublishRequestRow, owner: str, name: str) -> PublishRequestRecord:
    return PublishRequestRecord(
        id=row.id,
        model_id=row.model_id,
        owner=owner,
        name=name,
        version=row.version,
        visibility=Visibility(row.visibility),
        description=row.description,
        category=row.category,
        license=row.license,
        tags=None if row.tags is None else tuple(row.tags),
        status=row.status,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        comment=row.comment,
    )


def _requests() -> Select[PublishRequestRow, str, str]:
    # Requests of a deleted model are hidden with it (deletion.py).
    return select(PublishRequestRow, ModelRow.owner, ModelRow.name).join(
        ModelRow, (ModelRow.id == PublishRequestRow.model_id) & ModelRow.deleted_at.is_(None)
    )


class CurationStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- aliases -----------------------------------------------------------------------------

    async def aliases_of(self, model_id: int) -> list[AliasRecord]:
        rows = await self._session.scalars(
            select(AliasRow).where(AliasRow.model_id == model_id).order_by(AliasRow.alias)
        )
        return [_alias(row) for row in rows]

    async def alias(self, model_id: int, alias: str) -> AliasRecord | None:
        row = await self._session.get(AliasRow, (model_id, alias))
        return None if row is None else _alias(row)

    async def lock_alias(self, model_id: int, alias: str) -> AliasRecord | None:
        statement = (
            select(AliasRow)
            .where(AliasRow.model_id == model_id, AliasRow.alias == alias)
            .with_for_update()
        )
        row = await self._session.scalar(statement)
        return None if row is None else _alias(row)

    async def set_alias(self, model_id: int, alias: str, version: int, moved_by: str) -> None:
        values = {"version": version, "moved_by": moved_by, "moved_at": datetime.now(UTC)}
        statement = insert(AliasRow).values(model_id=model_id, alias=alias, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[AliasRow.model_id, AliasRow.alias], set_=values
        )
        await self._session.execute(statement)

    async def remove_alias(self, model_id: int, alias: str) -> None:
        await self._session.execute(
            delete(AliasRow).where(AliasRow.model_id == model_id, AliasRow.alias == alias)
        )

    # -- publish requests --------------------------------------------------------------------

    async def add_request(
        self, model_id: int, version: int, wanted: PublishRequest, requested_by: str
    ) -> int:
        row = PublishRequestRow(
            model_id=model_id,
            version=version,
            visibility=wanted.visibility.value,
            description=wanted.description,
            category=wanted.category,
            license=wanted.license,
            tags=None if wanted.tags is None else list(wanted.tags),
            requested_by=requested_by,
        )
        self._session.add(row)
        await self._session.flush()
        return int(row.id)

    async def pending_request_of(self, model_id: int) -> int | None:
        found = await self._session.scalar(
            select(PublishRequestRow.id).where(
                PublishRequestRow.model_id == model_id, PublishRequestRow.status == "pending"
            )
        )
        return None if found is None else int(found)

    async def request(self, request_id: int, *, lock: bool = False) -> PublishRequestRecord | None:
        statement = _requests().where(PublishRequestRow.id == request_id)
        if lock:
            statement = statement.with_for_update(of=PublishRequestRow)
        found = (await self._session.execute(statement)).first()
        return None if found is None else _request(found[0], found[1], found[2])

    async def decide(self, request_id: int, status: str, by: str, comment: str | None) -> None:
        row = await self._session.get_one(PublishRequestRow, request_id)
        row.status, row.decided_by, row.comment = status, by, comment
        row.decided_at = datetime.now(UTC)
        await self._session.flush()

    async def requests(
        self,
        *,
        status: str | None,
        namespaces: list[str] | None,
        requested_by: str | None,
        model: tuple[str | None, str | None] = (None, None),
        limit: int,
    ) -> list[PublishRequestRecord]:
        """Newest first; `namespaces`/`requested_by` None means every model (publishers);
        `model` (owner, name), either part None for any, narrows to a namespace or one model."""
        statement = _requests().order_by(PublishRequestRow.id.desc()).limit(limit)
        if status is not None:
            statement = statement.where(PublishRequestRow.status == status)
        owner, name = model
        if owner is not None:
            statement = statement.where(ModelRow.owner == owner)
        if name is not None:
            statement = statement.where(ModelRow.name == name)
        if namespaces is not None:
            mine: list[ColumnElement[bool]] = [ModelRow.owner.in_(namespaces)]
            if requested_by is not None:
                mine.append(PublishRequestRow.requested_by == requested_by)
            statement = statement.where(or_(*mine))
        rows = (await self._session.execute(statement)).all()
        return [_request(row[0], row[1], row[2]) for row in rows]
