"""Routes of organisations: `/v1/orgs` (create, mine, one, members) and the publisher right."""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from fastapi import APIRouter, Response
from modelbay_common.db import transaction
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_gateway.audit import AuditLog
from modelbay_gateway.auth import SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.errors import NamespaceTaken
from modelbay_gateway.schemas import UserOut
from modelbay_gateway.schemas_orgs import MemberIn, MyOrgOut, OrgIn, OrgOut, PublisherIn
from modelbay_gateway.service_orgs import (
    OrgStores,
    create_org,
    my_orgs,
    org_detail,
    remove_member,
    set_member,
    set_publisher_right,
)
from modelbay_gateway.store import UserStore
from modelbay_gateway.store_orgs import OrgStore

router = APIRouter(prefix="/v1", tags=["organisations"])


def _stores(session: AsyncSession) -> OrgStores:
    return OrgStores(UserStore(session), OrgStore(session))


@router.post("/orgs", response_model=OrgOut, status_code=201)
async def new_org(principal: SignedIn, body: OrgIn, context: ContextDep) -> OrgOut:
    """Create an organisation; you become its first owner. Its name is a namespace for models
    (`POST /v1/models/{org}/{name}/versions` by its owners and maintainers)."""
    try:
        async with transaction(context.sessions) as session:
            found = await create_org(_stores(session), principal, body.name)
    except IntegrityError:  # created concurrently under the same name
        raise NamespaceTaken(body.name, "an organisation") from None
    return OrgOut.of(found.org, found.members)


@router.get("/orgs", response_model=list[MyOrgOut])
async def orgs(principal: SignedIn, context: ContextDep) -> list[MyOrgOut]:
    """The organisations you belong to, with your role in each."""
    async with transaction(context.sessions) as session:
        found = await my_orgs(_stores(session), principal)
    return [MyOrgOut(name=org.name, role=role, created_at=org.created_at) for org, role in found]


@router.get("/orgs/{org}", response_model=OrgOut)
async def org(org: str, principal: SignedIn, context: ContextDep) -> OrgOut:
    """An organisation and its members (members and administrators; 404 for anyone else)."""
    async with transaction(context.sessions) as session:
        found = await org_detail(_stores(session), principal, org)
    return OrgOut.of(found.org, found.members)


@router.put("/orgs/{org}/members/{username}", response_model=OrgOut)
async def put_member(
    org: str, username: str, body: MemberIn, principal: SignedIn, context: ContextDep
) -> OrgOut:
    """Add a member with a role, or change a member's role (owners of the organisation)."""
    async with transaction(context.sessions) as session:
        found = await set_member(_stores(session), principal, org, username, body.role)
    return OrgOut.of(found.org, found.members)


@router.delete("/orgs/{org}/members/{username}", status_code=204, response_class=Response)
async def delete_member(
    org: str, username: str, principal: SignedIn, context: ContextDep
) -> Response:
    """Remove a member (owners), or leave (yourself); the last owner cannot go."""
    async with transaction(context.sessions) as session:
        await remove_member(_stores(session), principal, org, username)
    return Response(status_code=204)


@router.put("/users/{username}/publisher", response_model=UserOut, tags=["accounts"])
async def put_publisher(
    username: str, body: PublisherIn, principal: SignedIn, context: ContextDep
) -> UserOut:
    """Grant or withdraw the publisher right: deciding others' publish requests (administrators)."""
    async with transaction(context.sessions) as session:
        user = await set_publisher_right(UserStore(session), principal, username, body.publisher)
        action = "user.publisher_granted" if body.publisher else "user.publisher_withdrawn"
        await AuditLog(session).record(principal.username, action, username, {})
    return UserOut.of(user)
