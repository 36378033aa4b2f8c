"""Organisations: `/orgs` (mine, and a form to create one) and `/orgs/{org}` (members with their
roles, the organisation's models; its owners add members, change roles and remove members).

The pages call the use cases behind `/v1/orgs` (`service_orgs`) in one transaction each, as the
signed-in user, so the same rules hold: a non-member gets the one 404 page, only owners manage
members, the last owner stays. A refusal that belongs to a field (an unknown username, a taken
name) comes back next to it (422); a form's other refusals (the last owner) as a notice.
"""

# No `from __future__ import annotations`: FastAPI must see the Annotated aliases.
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from modelbay_common.access import OrgRole, can_manage_members
from modelbay_common.db import transaction
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_gateway.errors import LastOwner, NamespaceTaken, UnknownUser
from modelbay_gateway.records import Principal
from modelbay_gateway.schemas_orgs import OrgIn
from modelbay_gateway.service_orgs import (
    OrgStores,
    create_org,
    my_orgs,
    org_detail,
    remove_member,
    set_member,
)
from modelbay_gateway.store import UserStore
from modelbay_gateway.store_orgs import OrgStore
from modelbay_gateway.web.catalog_answers import search_models
from modelbay_gateway.web.errors import HtmlErrorRoute
from modelbay_gateway.web.session import Visitor
from modelbay_gateway.web.state import State
from modelbay_gateway.web.visitors import FormSender, SignedInVisitor

router = APIRouter(route_class=HtmlErrorRoute, include_in_schema=False)

ShortText = Annotated[str, Form(max_length=200)]
ROLES = tuple(role.value for role in OrgRole)
MODELS_SHOWN = 50


def _stores(session: AsyncSession) -> OrgStores:
    return OrgStores(UserStore(session), OrgStore(session))


def _principal(visitor: Visitor) -> Principal:
    """The signed-in user (`SignedInVisitor` and `FormSender` saw to it)."""
    assert visitor.principal is not None
    return visitor.principal


def _org_url(org: str, anchor: str = "") -> str:
    return f"/orgs/{quote(org)}" + (f"#{anchor}" if anchor else "")


async def _orgs_page(
    request: Request,
    state: State,
    visitor: Visitor,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    async with transaction(state.context.sessions) as session:
        found = await my_orgs(_stores(session), _principal(visitor))
    values = {
        "visitor": visitor,
        "orgs": [{"name": org.name, "role": role.value} for org, role in found],
        "form": form or {},
        "errors": errors or {},
    }
    status = 422 if errors else 200
    return state.templates.TemplateResponse(request, "orgs.html", values, status_code=status)


@router.get("/orgs")
async def orgs_page(request: Request, state: State, visitor: SignedInVisitor) -> Response:
    return await _orgs_page(request, state, visitor)


@router.post("/orgs")
async def org_create(
    request: Request,
    state: State,
    visitor: FormSender,
    name: ShortText = "",
) -> Response:
    try:
        checked = OrgIn(name=name.strip())
    except ValidationError:
        message = "Use lowercase letters, digits, dots, dashes and underscores."
        return await _orgs_page(request, state, visitor, {"name": name}, {"name": message})
    try:
        async with transaction(state.context.sessions) as session:
            stores = _stores(session)
            await create_org(stores, _principal(visitor), checked.name)
    except NamespaceTaken as exc:
        return await _orgs_page(request, state, visitor, {"name": name}, {"name": exc.detail or ""})
    except IntegrityError:  # created concurrently under the same name
        taken = NamespaceTaken(checked.name, "an organisation").detail or ""
        return await _orgs_page(request, state, visitor, {"name": name}, {"name": taken})
    return RedirectResponse(_org_url(checked.name), status_code=303)


async def _org_page(
    request: Request,
    state: State,
    visitor: Visitor,
    org: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    async with transaction(state.context.sessions) as session:
        found = await org_detail(_stores(session), _principal(visitor), org)
    models = await search_models(
        state.context.upstreams, visitor.caller, {"owner": org, "limit": MODELS_SHOWN}
    )
    values: dict[str, Any] = {
        "visitor": visitor,
        "org": found.org,
        "members": found.members,
        "models": models["items"],
        "more_models": models.get("next_cursor") is not None,
        "manages": can_manage_members(visitor.caller, org),
        "roles": ROLES,
        "form": form or {},
        "errors": errors or {},
        "notice": notice,
    }
    status = 422 if errors or notice else 200
    return state.templates.TemplateResponse(request, "org.html", values, status_code=status)


@router.get("/orgs/{org}")
async def org_page(request: Request, state: State, visitor: SignedInVisitor, org: str) -> Response:
    return await _org_page(request, state, visitor, org)


def _role(text: str) -> OrgRole | None:
    return OrgRole(text) if text in ROLES else None


@router.post("/orgs/{org}/members")
async def member_set(
    request: Request,
    state: State,
    visitor: FormSender,
    org: str,
    username: ShortText = "",
    role: ShortText = "",
) -> Response:
    """Add a member, or change a member's role (the same use case as `PUT .../members/{u}`)."""
    form = {"username": username, "role": role}
    chosen = _role(role)
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = "Enter the username of the person to add."
    if chosen is None:
        errors["role"] = "Choose owner, maintainer or reader."
    if errors or chosen is None:
        return await _org_page(request, state, visitor, org, form=form, errors=errors)
    try:
        async with transaction(state.context.sessions) as session:
            stores = _stores(session)
            await set_member(stores, _principal(visitor), org, username.strip(), chosen)
    except UnknownUser as exc:
        errors = {"username": exc.detail or "No such user."}
        return await _org_page(request, state, visitor, org, form=form, errors=errors)
    except LastOwner as exc:
        return await _org_page(request, state, visitor, org, notice=exc.detail)
    return RedirectResponse(_org_url(org, "members"), status_code=303)


@router.post("/orgs/{org}/members/{username}/delete")
async def member_remove(
    request: Request,
    state: State,
    visitor: FormSender,
    org: str,
    username: str,
) -> Response:
    """Remove a member (owners), or leave (yourself); the last owner stays."""
    try:
        async with transaction(state.context.sessions) as session:
            stores = _stores(session)
            await remove_member(stores, _principal(visitor), org, username)
    except LastOwner as exc:
        return await _org_page(request, state, visitor, org, notice=exc.detail)
    if username == visitor.username:
        return RedirectResponse("/orgs", status_code=303)  # left: the page is no longer theirs
    return RedirectResponse(_org_url(org, "members"), status_code=303)
