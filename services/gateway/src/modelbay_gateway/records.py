"""What the store hands out instead of ORM rows (plain frozen values)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from modelbay_common.access import Membership, OrgRole


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    username: str
    org: str | None
    is_admin: bool
    created_at: datetime
    is_publisher: bool = False


@dataclass(frozen=True)
class TokenInfo:
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user: User
    token_id: uuid.UUID
    # The user's organisations and roles, read with the token (they travel to the internal
    # services in the caller headers).
    memberships: tuple[Membership, ...] = ()

    @property
    def username(self) -> str:
        return self.user.username


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the only moment its secret exists outside the caller's hands."""

    info: TokenInfo
    secret: str


@dataclass(frozen=True)
class Org:
    id: uuid.UUID
    name: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class OrgMember:
    username: str
    role: OrgRole
    added_by: str
    added_at: datetime
