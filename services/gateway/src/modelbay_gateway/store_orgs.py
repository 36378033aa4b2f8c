"""Queries of organisations and their members (the `gateway` schema). Only flushes."""

from __future__ import annotations

import uuid

from modelbay_common.access import OrgRole
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_gateway.auth_cache import principals_changed
from modelbay_gateway.orm import OrgMemberRow, OrgRow, UserRow
from modelbay_gateway.records import Org, OrgMember


def _org(row: OrgRow) -> Org:
    return Org(id=row.id, name=row.name, created_by=row.created_by, created_at=row.created_at)


class OrgStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        """The unit of work, for writing events to the outbox next to the change."""
        return self._session

    async def org_by_name(self, name: str, *, lock: bool = False) -> Org | None:
        statement = select(OrgRow).where(OrgRow.name == name)
        if lock:
            statement = statement.with_for_update()
        row = await self._session.scalar(statement)
        return None if row is None else _org(row)

    async def add_org(self, name: str, created_by: str) -> Org:
        row = OrgRow(id=uuid.uuid4(), name=name, created_by=created_by)
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return _org(row)

    async def members(self, org_id: uuid.UUID) -> list[OrgMember]:
        rows = await self._session.execute(
            select(
                UserRow.username, OrgMemberRow.role, OrgMemberRow.added_by, OrgMemberRow.added_at
            )
            .join(UserRow, UserRow.id == OrgMemberRow.user_id)
            .where(OrgMemberRow.org_id == org_id)
            .order_by(UserRow.username)
        )
        return [
            OrgMember(username=username, role=OrgRole(role), added_by=by, added_at=at)
            for username, role, by, at in rows
        ]

    async def role_of(self, org_id: uuid.UUID, user_id: uuid.UUID) -> OrgRole | None:
        role = await self._session.scalar(
            select(OrgMemberRow.role).where(
                OrgMemberRow.org_id == org_id, OrgMemberRow.user_id == user_id
            )
        )
        return None if role is None else OrgRole(role)

    async def add_member(
        self, org_id: uuid.UUID, user_id: uuid.UUID, role: OrgRole, added_by: str
    ) -> None:
        principals_changed(self._session, user_id)  # memberships travel with the caller
        self._session.add(
            OrgMemberRow(org_id=org_id, user_id=user_id, role=role.value, added_by=added_by)
        )
        await self._session.flush()

    async def change_role(self, org_id: uuid.UUID, user_id: uuid.UUID, role: OrgRole) -> None:
        principals_changed(self._session, user_id)  # memberships travel with the caller
        await self._session.execute(
            update(OrgMemberRow)
            .where(OrgMemberRow.org_id == org_id, OrgMemberRow.user_id == user_id)
            .values(role=role.value)
        )

    async def remove_member(self, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
        principals_changed(self._session, user_id)  # memberships travel with the caller
        await self._session.execute(
            delete(OrgMemberRow).where(
                OrgMemberRow.org_id == org_id, OrgMemberRow.user_id == user_id
            )
        )

    async def owner_count(self, org_id: uuid.UUID) -> int:
        count = await self._session.scalar(
            select(func.count()).where(
                OrgMemberRow.org_id == org_id, OrgMemberRow.role == OrgRole.OWNER.value
            )
        )
        return int(count or 0)

    async def orgs_of(self, user_id: uuid.UUID) -> list[tuple[Org, OrgRole]]:
        rows = await self._session.execute(
            select(OrgRow, OrgMemberRow.role)
            .join(OrgMemberRow, OrgMemberRow.org_id == OrgRow.id)
            .where(OrgMemberRow.user_id == user_id)
            .order_by(OrgRow.name)
        )
        return [(_org(row), OrgRole(role)) for row, role in rows]
