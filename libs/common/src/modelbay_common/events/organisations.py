"""Events of organisations and their members (docs/events.md, "Organisation events")."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from modelbay_common.events.base import EventPayload


class OrgEvent(EventPayload):
    """Base of the payloads about an organisation (the gateway keeps them); no model version."""

    org: str = Field(min_length=1)

    @property
    def subject(self) -> str:
        """The CloudEvents `subject`: `orgs/<org>`."""
        return f"orgs/{self.org}"


class OrgCreated(OrgEvent):
    """Sent by the gateway when a user creates an organisation (they become its first owner)."""

    type: ClassVar[str] = "modelbay.org.created.v1"

    created_by: str


class OrgMemberAdded(OrgEvent):
    """Sent by the gateway when an owner of the organisation (or an administrator) adds a
    member with a role."""

    type: ClassVar[str] = "modelbay.org.member_added.v1"

    member: str
    role: Literal["owner", "maintainer", "reader"]
    added_by: str


class OrgMemberRoleChanged(OrgEvent):
    """Sent by the gateway when a member's role in the organisation changes."""

    type: ClassVar[str] = "modelbay.org.member_role_changed.v1"

    member: str
    role: Literal["owner", "maintainer", "reader"]
    previous_role: Literal["owner", "maintainer", "reader"]
    changed_by: str


class OrgMemberRemoved(OrgEvent):
    """Sent by the gateway when a member leaves the organisation or is removed by an owner."""

    type: ClassVar[str] = "modelbay.org.member_removed.v1"

    member: str
    role: Literal["owner", "maintainer", "reader"]
    removed_by: str
