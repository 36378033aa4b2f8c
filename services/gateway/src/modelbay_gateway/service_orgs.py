"""Use cases of organisations: create one, list mine, read one, add/re-role/remove members,
and the publisher right of a user. Each change is an event in the gateway's outbox, in the same
transaction (the caller owns it; these only flush)."""

from __future__ import annotations

from dataclasses import dataclass

from modelbay_common.access import OrgRole, can_manage_members
from modelbay_common.events import (
    OrgCreated,
    OrgMemberAdded,
    OrgMemberRemoved,
    OrgMemberRoleChanged,
)
from modelbay_common.outbox import EventEmitter

from modelbay_gateway.audit import audited_emitter
from modelbay_gateway.errors import (
    AdminRequired,
    LastOwner,
    MemberNotFound,
    NamespaceTaken,
    OrgNotFound,
    OrgOwnerRequired,
    UnknownUser,
)
from modelbay_gateway.orm import SCHEMA
from modelbay_gateway.records import Org, OrgMember, Principal, User
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.settings import EVENT_SOURCE
from modelbay_gateway.store import UserStore
from modelbay_gateway.store_orgs import OrgStore

# Every organisation event is also an audit entry, in the same transaction (audit.py).
emit = audited_emitter(EventEmitter(source=EVENT_SOURCE, schema=SCHEMA), "org")


@dataclass(frozen=True)
class OrgStores:
    users: UserStore
    orgs: OrgStore


@dataclass(frozen=True)
class OrgWithMembers:
    org: Org
    members: list[OrgMember]


async def create_org(stores: OrgStores, principal: Principal, name: str) -> OrgWithMembers:
    """A new organisation; its creator is its first owner."""
    await stores.users.lock_namespace(name)
    if await stores.users.user_by_name(name) is not None:
        raise NamespaceTaken(name, "a user")
    if await stores.orgs.org_by_name(name) is not None:
        raise NamespaceTaken(name, "an organisation")
    if not principal.user.is_admin and await stores.users.org_attribute_in_use(name):
        # Users whose organisation attribute is `name` share `org` models under it; whoever
        # created an organisation of that name would see them. Only an administrator may.
        raise NamespaceTaken(name, "the organisation attribute of existing users")
    org = await stores.orgs.add_org(name, principal.username)
    await stores.orgs.add_member(org.id, principal.user.id, OrgRole.OWNER, principal.username)
    session = stores.orgs.session
    await emit(session, OrgCreated(org=name, created_by=principal.username))
    await emit(
        session,
        OrgMemberAdded(
            org=name, member=principal.username, role="owner", added_by=principal.username
        ),
    )
    return OrgWithMembers(org, await stores.orgs.members(org.id))


async def my_orgs(stores: OrgStores, principal: Principal) -> list[tuple[Org, OrgRole]]:
    return await stores.orgs.orgs_of(principal.user.id)


async def _org_for(stores: OrgStores, principal: Principal, name: str, *, lock: bool) -> Org:
    """The organisation, for a member or an administrator; 404 for anyone else."""
    org = await stores.orgs.org_by_name(name, lock=lock)
    if org is None:
        raise OrgNotFound(name)
    if not principal.user.is_admin and await stores.orgs.role_of(org.id, principal.user.id) is None:
        raise OrgNotFound(name)
    return org


async def org_detail(stores: OrgStores, principal: Principal, name: str) -> OrgWithMembers:
    org = await _org_for(stores, principal, name, lock=False)
    return OrgWithMembers(org, await stores.orgs.members(org.id))


async def _member_user(stores: OrgStores, username: str) -> User:
    user = await stores.users.user_by_name(username)
    if user is None:
        raise UnknownUser(username)
    return user


async def set_member(
    stores: OrgStores, principal: Principal, name: str, username: str, role: OrgRole
) -> OrgWithMembers:
    """Add `username` with `role`, or change their role (owners of the org, administrators)."""
    # Locked: concurrent changes of one organisation's members run one after the other, so the
    # last owner cannot be demoted twice at once.
    org = await _org_for(stores, principal, name, lock=True)
    if not can_manage_members(caller_of(principal), name):
        raise OrgOwnerRequired(name)
    user = await _member_user(stores, username)
    before = await stores.orgs.role_of(org.id, user.id)
    if before is None:
        await stores.orgs.add_member(org.id, user.id, role, principal.username)
        event: OrgMemberAdded | OrgMemberRoleChanged = OrgMemberAdded(
            org=name, member=username, role=role.value, added_by=principal.username
        )
    elif before is role:
        return OrgWithMembers(org, await stores.orgs.members(org.id))
    else:
        if before is OrgRole.OWNER and await stores.orgs.owner_count(org.id) == 1:
            raise LastOwner(name, username)
        await stores.orgs.change_role(org.id, user.id, role)
        event = OrgMemberRoleChanged(
            org=name,
            member=username,
            role=role.value,
            previous_role=before.value,
            changed_by=principal.username,
        )
    await emit(stores.orgs.session, event)
    return OrgWithMembers(org, await stores.orgs.members(org.id))


async def remove_member(stores: OrgStores, principal: Principal, name: str, username: str) -> None:
    """Owners remove anyone; every member may leave. The last owner stays."""
    org = await _org_for(stores, principal, name, lock=True)
    leaving = username == principal.username
    if not leaving and not can_manage_members(caller_of(principal), name):
        raise OrgOwnerRequired(name)
    user = await _member_user(stores, username)
    role = await stores.orgs.role_of(org.id, user.id)
    if role is None:
        raise MemberNotFound(name, username)
    if role is OrgRole.OWNER and await stores.orgs.owner_count(org.id) == 1:
        raise LastOwner(name, username)
    await stores.orgs.remove_member(org.id, user.id)
    await emit(
        stores.orgs.session,
        OrgMemberRemoved(org=name, member=username, role=role.value, removed_by=principal.username),
    )


async def set_publisher_right(
    users: UserStore, principal: Principal, username: str, publisher: bool
) -> User:
    """Grant or withdraw the publisher right (administrators only)."""
    if not principal.user.is_admin:
        raise AdminRequired("grant the publisher right")
    user = await users.user_by_name(username)
    if user is None:
        raise UnknownUser(username)
    await users.set_publisher(user.id, publisher)
    updated = await users.user_by_name(username)
    assert updated is not None
    return updated
