"""Sign-in, sign-out and the publish form; every POST checks its CSRF token first."""

# No `from __future__ import annotations`: FastAPI must see the Annotated aliases.
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from modelbay_common.errors import validation_error_entries
from pydantic import ValidationError

from modelbay_gateway.auth_throttle import client_of, throttle_of
from modelbay_gateway.errors import UpstreamProblem
from modelbay_gateway.schemas import PublishIn
from modelbay_gateway.web.catalog_answers import get_model, publish_model
from modelbay_gateway.web.errors import HtmlErrorRoute, signin_redirect
from modelbay_gateway.web.session import (
    CurrentVisitor,
    Visitor,
    check_csrf,
    clear_session_cookie,
    new_signin_csrf,
    set_session_cookie,
    set_signin_csrf_cookie,
    sign_in,
    sign_out,
)
from modelbay_gateway.web.state import State
from modelbay_gateway.web.views import (
    CATEGORIES,
    VISIBILITIES,
    field_errors,
    parse_tags,
    ready_versions,
)
from modelbay_gateway.web.visitors import CsrfField as _CsrfField

router = APIRouter(route_class=HtmlErrorRoute, include_in_schema=False)

FormText = Annotated[str, Form(max_length=20_000)]
# Kept importable from here (pages of other tasks import it); defined with the visitors.
CsrfField = _CsrfField


def safe_next(target: str | None) -> str:
    """Only a path on this site: `next=//evil.example` or `https://...` would be an open
    redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _signin_page(
    request: Request,
    state: State,
    next_path: str,
    errors: dict[str, str],
    username: str = "",
    retry_after: int | None = None,
) -> Response:
    csrf = request.cookies.get("modelbay_signin_csrf") or new_signin_csrf()
    values = {
        "visitor": Visitor(None, signin_csrf=csrf),
        "next": next_path,
        "errors": errors,
        "username": username,
    }
    status = 429 if retry_after is not None else 400 if errors else 200
    response = state.templates.TemplateResponse(request, "signin.html", values, status_code=status)
    set_signin_csrf_cookie(response, request, csrf)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/signin")
async def signin_form(
    request: Request,
    state: State,
    visitor: CurrentVisitor,
    next: Annotated[str, Query(max_length=2000)] = "/",
) -> Response:
    if visitor.principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _signin_page(request, state, safe_next(next), {})


@router.post("/signin")
async def signin_submit(
    request: Request,
    state: State,
    visitor: CurrentVisitor,
    csrf_token: CsrfField = None,
    username: Annotated[str, Form(max_length=200)] = "",
    token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    check_csrf(visitor, csrf_token)
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = "Enter your username."
    if not token.strip():
        errors["token"] = "Enter one of your API tokens (it starts with mb_)."
    if errors:
        return _signin_page(request, state, safe_next(next), errors, username)
    throttle, client = throttle_of(request), client_of(request)
    wait = throttle.retry_after(client)  # checked before the lookup: no transaction then
    if wait is not None:
        message = f"Too many failed sign-ins from this address; try again in {wait} s."
        return _signin_page(request, state, safe_next(next), {"token": message}, username, wait)
    secret = await sign_in(state, username, token)
    if secret is None:
        throttle.failed(client)
        # One message for both: which of the two was wrong would help someone guessing.
        message = "This username and token do not match an active account."
        return _signin_page(request, state, safe_next(next), {"token": message}, username)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, request, secret)
    return response


@router.post("/signout")
async def signout(
    request: Request, state: State, visitor: CurrentVisitor, csrf_token: CsrfField = None
) -> Response:
    if visitor.principal is not None:
        check_csrf(visitor, csrf_token)
        await sign_out(state, visitor)
    response = RedirectResponse("/signin", status_code=303)
    clear_session_cookie(response, request)
    return response


async def _publish_page(
    request: Request,
    state: State,
    visitor: Visitor,
    model: dict[str, Any],
    form: dict[str, str],
    errors: dict[str, str],
) -> Response:
    values = {
        "visitor": visitor,
        "model": model,
        "form": form,
        "errors": errors,
        "categories": CATEGORIES,
        "visibilities": VISIBILITIES,
        "ready_versions": ready_versions(model),
    }
    status = 422 if errors else 200
    return state.templates.TemplateResponse(request, "publish.html", values, status_code=status)


@router.get("/models/{owner}/{name}/publish")
async def publish_form(
    request: Request, state: State, visitor: CurrentVisitor, owner: str, name: str
) -> Response:
    if visitor.principal is None:
        return signin_redirect(request)
    model = await get_model(state.context.upstreams, visitor.caller, owner, name)
    versions = ready_versions(model)
    form = {
        "version": str(versions[0]) if versions else "",
        "visibility": str(model.get("visibility") or "public"),
        "description": str(model.get("description") or ""),
        "category": str(model.get("category") or ""),
        "license": str(model.get("license") or ""),
        "tags": ", ".join(model.get("tags") or []),
    }
    return await _publish_page(request, state, visitor, model, form, {})


@router.post("/models/{owner}/{name}/publish")
async def publish_submit(
    request: Request,
    state: State,
    visitor: CurrentVisitor,
    owner: str,
    name: str,
    csrf_token: CsrfField = None,
    version: Annotated[str, Form(max_length=20)] = "",
    visibility: Annotated[str, Form(max_length=20)] = "",
    description: FormText = "",
    category: Annotated[str, Form(max_length=100)] = "",
    license: Annotated[str, Form(max_length=500)] = "",
    tags: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_csrf(visitor, csrf_token)  # first: a forged form learns nothing, not even a redirect
    if visitor.principal is None:
        return signin_redirect(request)
    upstreams, caller = state.context.upstreams, visitor.caller
    model = await get_model(upstreams, caller, owner, name)
    form = {"version": version, "visibility": visibility, "description": description}
    form |= {"category": category, "license": license, "tags": tags}
    body: dict[str, Any] = {
        "visibility": visibility,
        "description": description.strip(),
        "category": category,
        "license": license.strip(),
        "tags": parse_tags(tags),
    }
    if version:
        body["version"] = version
    errors = _missing_fields(description, category, license)
    try:
        checked = PublishIn.model_validate(body)
    except ValidationError as exc:
        errors = field_errors({"errors": validation_error_entries(exc.errors())}) | errors
    if errors:
        return await _publish_page(request, state, visitor, model, form, errors)
    try:
        published = await publish_model(
            upstreams, caller, owner, name, checked.model_dump(exclude_none=True)
        )
    except UpstreamProblem as problem:
        errors = _publish_refusal(problem)
        if not errors:
            raise
        return await _publish_page(request, state, visitor, model, form, errors)
    model_url = f"/models/{quote(owner)}/{quote(name)}"
    if published.get("requested_by") is not None:  # approval required: a request was filed
        return RedirectResponse(f"{model_url}?requested={published.get('id', '')}", 303)
    target = f"{model_url}?published={published.get('version', '')}"
    return RedirectResponse(target, status_code=303)


def _missing_fields(description: str, category: str, license: str) -> dict[str, str]:
    """The required fields, in words a person acts on (the schema checks the rest)."""
    errors: dict[str, str] = {}
    if not description.strip():
        errors["description"] = "Describe the model: this text becomes its model card."
    if category not in CATEGORIES:
        errors["category"] = "Choose the category that fits best (or other)."
    if not license.strip():
        errors["license"] = "Name the license people may use the model under, e.g. MIT."
    return errors


def _publish_refusal(problem: UpstreamProblem) -> dict[str, str]:
    """The catalog's refusals that belong next to a field; others become an error page."""
    if problem.status == 422:
        return field_errors(problem.problem) or {"description": str(problem.problem.get("detail"))}
    if problem.status == 409:
        return {"version": str(problem.problem.get("detail") or "This version is not ready.")}
    return {}
