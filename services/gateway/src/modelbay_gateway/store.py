"""Queries of the `gateway` schema (the only module that touches its tables). Only flushes."""

from __future__ import annotations

import uuid
from datetime import datetime

from modelbay_common.access import Membership, OrgRole
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_gateway.auth_cache import principals_changed
from modelbay_gateway.orm import ApiTokenRow, OrgMemberRow, OrgRow, UserRow
from modelbay_gateway.records import TokenInfo, User


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        org=row.org,
        is_admin=row.is_admin,
        created_at=row.created_at,
        is_publisher=row.is_publisher,
    )


def _token(row: ApiTokenRow) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.token_prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class UserStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def user_by_name(self, username: str) -> User | None:
        row = await self._session.scalar(select(UserRow).where(UserRow.username == username))
        return None if row is None else _user(row)

    async def add_user(
        self, username: str, org: str | None, is_admin: bool, is_publisher: bool = False
    ) -> User:
        row = UserRow(
            id=uuid.uuid4(),
            username=username,
            org=org,
            is_admin=is_admin,
            is_publisher=is_publisher,
        )
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return _user(row)

    async def update_user(self, user_id: uuid.UUID, *, org: str | None, is_admin: bool) -> None:
        principals_changed(self._session, user_id)
        await self._session.execute(
            update(UserRow).where(UserRow.id == user_id).values(org=org, is_admin=is_admin)
        )

    async def lock_namespace(self, name: str) -> None:
        """Serialise the creation of a user or an organisation named `name` (one namespace for
        both, two tables: a transaction-scoped advisory lock on the name closes the race)."""
        await self._session.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))

    async def org_attribute_in_use(self, org: str) -> bool:
        """Some user's organisation attribute (`users.org`) is `org`."""
        found = await self._session.scalar(select(UserRow.id).where(UserRow.org == org).limit(1))
        return found is not None

    async def org_exists(self, name: str) -> bool:
        return await self._session.scalar(select(OrgRow.id).where(OrgRow.name == name)) is not None

    async def set_publisher(self, user_id: uuid.UUID, is_publisher: bool) -> None:
        principals_changed(self._session, user_id)
        await self._session.execute(
            update(UserRow).where(UserRow.id == user_id).values(is_publisher=is_publisher)
        )

    async def memberships_of(self, user_id: uuid.UUID) -> tuple[Membership, ...]:
        rows = await self._session.execute(
            select(OrgRow.name, OrgMemberRow.role)
            .join(OrgRow, OrgRow.id == OrgMemberRow.org_id)
            .where(OrgMemberRow.user_id == user_id)
        )
        return tuple(Membership(name, OrgRole(role)) for name, role in rows)

    async def add_token(self, user_id: uuid.UUID, name: str, sha256: str, prefix: str) -> TokenInfo:
        row = ApiTokenRow(
            id=uuid.uuid4(), user_id=user_id, name=name, token_sha256=sha256, token_prefix=prefix
        )
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return _token(row)

    async def principal_by_token_hash(
        self, sha256: str
    ) -> tuple[TokenInfo, User, tuple[Membership, ...]] | None:
        """An active token, its user and the user's memberships in one round trip (a row per
        membership, or one with no organisation), for authentication on every request."""
        result = await self._session.execute(
            select(ApiTokenRow, UserRow, OrgRow.name, OrgMemberRow.role)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .outerjoin(OrgMemberRow, OrgMemberRow.user_id == UserRow.id)
            .outerjoin(OrgRow, OrgRow.id == OrgMemberRow.org_id)
            .where(ApiTokenRow.token_sha256 == sha256, ApiTokenRow.revoked_at.is_(None))
            .order_by(OrgRow.name)
        )
        rows = result.all()
        if not rows:
            return None
        token, user = rows[0][0], rows[0][1]
        memberships = tuple(
            Membership(org, OrgRole(role)) for _, _, org, role in rows if org is not None
        )
        return _token(token), _user(user), memberships

    async def token_exists(self, sha256: str) -> bool:
        found = await self._session.scalar(
            select(ApiTokenRow.id).where(ApiTokenRow.token_sha256 == sha256)
        )
        return found is not None

    async def restore_named_token(self, user_id: uuid.UUID, name: str, sha256: str) -> bool:
        """Un-revoke the user's token `name` with this hash; False when there is none to restore."""
        principals_changed(self._session, user_id)
        result = await self._session.execute(
            update(ApiTokenRow)
            .where(
                ApiTokenRow.user_id == user_id,
                ApiTokenRow.name == name,
                ApiTokenRow.token_sha256 == sha256,
                ApiTokenRow.revoked_at.is_not(None),
            )
            .values(revoked_at=None)
            .returning(ApiTokenRow.id)
        )
        return result.first() is not None

    async def touch_token(self, token_id: uuid.UUID, when: datetime) -> None:
        await self._session.execute(
            update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=when)
        )

    async def tokens_of(self, user_id: uuid.UUID) -> list[TokenInfo]:
        rows = await self._session.scalars(
            select(ApiTokenRow)
            .where(ApiTokenRow.user_id == user_id)
            .order_by(ApiTokenRow.created_at, ApiTokenRow.id)
        )
        return [_token(row) for row in rows]

    async def revoke_token(self, user_id: uuid.UUID, token_id: uuid.UUID, when: datetime) -> bool:
        """Revoke one of the user's own tokens; False when the user has no such active token."""
        principals_changed(self._session, user_id)
        result = await self._session.execute(
            update(ApiTokenRow)
            .where(
                ApiTokenRow.id == token_id,
                ApiTokenRow.user_id == user_id,
                ApiTokenRow.revoked_at.is_(None),
            )
            .values(revoked_at=when)
            .returning(ApiTokenRow.id)
        )
        return result.first() is not None

    async def revoke_named_tokens_except(
        self, user_id: uuid.UUID, name: str, keep_sha256: str, when: datetime
    ) -> None:
        principals_changed(self._session, user_id)
        await self._session.execute(
            update(ApiTokenRow)
            .where(
                ApiTokenRow.user_id == user_id,
                ApiTokenRow.name == name,
                ApiTokenRow.token_sha256 != keep_sha256,
                ApiTokenRow.revoked_at.is_(None),
            )
            .values(revoked_at=when)
        )
