"""Bodies of the organisation routes of `/v1` (`/v1/orgs`, the publisher right)."""

from __future__ import annotations

from datetime import datetime

from modelbay_common.access import OrgRole
from pydantic import BaseModel, ConfigDict, Field

from modelbay_gateway.records import Org, OrgMember
from modelbay_gateway.schemas import Name


class OrgIn(BaseModel):
    """`POST /v1/orgs`: a new organisation; the caller becomes its first owner."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(
        description="namespace of the organisation's models: lowercase, digits, . _ -"
    )


class MemberIn(BaseModel):
    """`PUT /v1/orgs/{org}/members/{username}`: add a member or change their role."""

    model_config = ConfigDict(extra="forbid")

    role: OrgRole = Field(
        description="owner (manages members), maintainer (pushes, publishes, moves aliases), "
        "reader (sees `org` models)"
    )


class PublisherIn(BaseModel):
    """`PUT /v1/users/{username}/publisher` (administrators)."""

    model_config = ConfigDict(extra="forbid")

    publisher: bool = Field(description="may decide publish requests of others' models")


class MemberOut(BaseModel):
    username: str
    role: OrgRole
    added_by: str
    added_at: datetime

    @classmethod
    def of(cls, member: OrgMember) -> MemberOut:
        return cls(
            username=member.username,
            role=member.role,
            added_by=member.added_by,
            added_at=member.added_at,
        )


class OrgOut(BaseModel):
    name: str
    created_by: str
    created_at: datetime
    members: list[MemberOut]

    @classmethod
    def of(cls, org: Org, members: list[OrgMember]) -> OrgOut:
        return cls(
            name=org.name,
            created_by=org.created_by,
            created_at=org.created_at,
            members=[MemberOut.of(member) for member in members],
        )


class MyOrgOut(BaseModel):
    name: str
    role: OrgRole
    created_at: datetime
