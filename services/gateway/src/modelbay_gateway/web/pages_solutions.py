"""Editing a solution on the web: its document in a textarea, pushed as the next version.

`GET /models/{owner}/{name}/solution/edit` shows the shown (or newest) version's document as
YAML (`service_solution_document`, what `GET /v1/solutions/.../document` answers), for the
people who may push into the namespace. The POST checks its CSRF token, reads the text as YAML
or JSON with the API's own reader (`parse_solution_body`) and hands it to `submit_solution`, the
function behind `POST /v1/solutions/...`, as the visitor: the same checks, the same refusals.
A refusal is shown next to the textarea, one line per problem with where it is
(`nodes.heat.retries: ...`, or each mismatching field of a connection); an accepted document
redirects to `.../versions/{n}/recording`, which sends the visitor on to the new version's page
(it follows the build live) once the catalog has recorded the version. Onboarding accepts the
document (202) before the catalog records it from onboarding's event, so for a moment the
version's page would be the 404 page; until the catalog has it, this address says so and
reloads itself (docs/decisions.md, "A new version's page before the catalog records it").
"""

# No `from __future__ import annotations`: FastAPI must see the Annotated aliases.
from typing import Annotated, Any
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from modelbay_common.access import can_change
from modelbay_common.api_params import INT32_MAX, VersionNumber
from modelbay_common.errors import ModelbayError

from modelbay_gateway.errors import UpstreamProblem
from modelbay_gateway.service_solution_document import solution_document
from modelbay_gateway.service_solutions import (
    MAX_DOCUMENT_BYTES,
    parse_solution_body,
    submit_solution,
)
from modelbay_gateway.web.catalog_answers import get_model, get_version, model_access
from modelbay_gateway.web.errors import HtmlErrorRoute, error_page, signin_redirect
from modelbay_gateway.web.session import CSRF_FIELD, CurrentVisitor, Visitor, check_csrf
from modelbay_gateway.web.state import State

router = APIRouter(route_class=HtmlErrorRoute, include_in_schema=False)

DocumentText = Annotated[str, Form(max_length=MAX_DOCUMENT_BYTES)]
# The recording page reloads once a second; after two minutes it stops and says where to look
# (a version the catalog never records, e.g. while the catalog is down, must not poll forever).
RECORDING_POLLS = 120
CsrfField = Annotated[str | None, Form(alias=CSRF_FIELD, max_length=200)]


def refusal_lines(problem: dict[str, Any]) -> list[tuple[str, str]]:
    """Where and what, one line per problem of a refusal (invalid structure: each field;
    incompatible connection: each mismatching field; a node: the node)."""
    lines = [
        (str(p.get("where") or ""), str(p.get("message") or ""))
        for p in problem.get("problems") or []
        if isinstance(p, dict)
    ]
    for connection in problem.get("connections") or []:
        if not isinstance(connection, dict):
            continue
        where = f"{connection.get('producer', '?')} → {connection.get('consumer', '?')}"
        for mismatch in connection.get("mismatches") or []:
            if isinstance(mismatch, dict) and mismatch.get("message"):
                lines.append((where, str(mismatch["message"])))
    if not lines and problem.get("node"):
        lines.append((f"nodes.{problem['node']}", str(problem.get("detail") or "")))
    return lines


async def _page(
    request: Request,
    state: State,
    visitor: Visitor,
    model: dict[str, Any],
    values: dict[str, Any],
    status: int = 200,
) -> Response:
    context = {"visitor": visitor, "model": model, "refusal": None, "lines": [], **values}
    return state.templates.TemplateResponse(
        request, "solution_edit.html", context, status_code=status
    )


async def _editable(
    request: Request, state: State, visitor: Visitor, owner: str, name: str
) -> dict[str, Any] | Response:
    """The model, when it is a solution the visitor may push to; otherwise the page to show."""
    model = await get_model(state.context.upstreams, visitor.caller, owner, name)
    access = model_access(model)
    if model.get("kind") != "solution":
        return await error_page(request, 404, "Not a solution", f"{owner}/{name} is a model.")
    if not can_change(visitor.caller, access):
        why = f"Only {owner} (or its maintainers) may push new versions of {owner}/{name}."
        return await error_page(request, 403, "Not yours to edit", why)
    return model


@router.get("/models/{owner}/{name}/solution/edit")
async def edit_form(
    request: Request,
    state: State,
    visitor: CurrentVisitor,
    owner: str,
    name: str,
    version: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
) -> Response:
    if visitor.principal is None:
        return signin_redirect(request)
    model = await _editable(request, state, visitor, owner, name)
    if isinstance(model, Response):
        return model
    base = version or int(model.get("latest_version") or 1)
    context = state.context
    document = await solution_document(
        context.blob_store, context.upstreams, visitor.caller, owner, name, base
    )
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return await _page(request, state, visitor, model, {"base": base, "text": text})


@router.post("/models/{owner}/{name}/solution/edit")
async def edit_submit(
    request: Request,
    state: State,
    visitor: CurrentVisitor,
    owner: str,
    name: str,
    csrf_token: CsrfField = None,
    document: DocumentText = "",
    base: Annotated[int | None, Form(ge=1, le=INT32_MAX)] = None,
) -> Response:
    check_csrf(visitor, csrf_token)  # first: a forged form learns nothing
    if visitor.principal is None:
        return signin_redirect(request)
    model = await _editable(request, state, visitor, owner, name)
    if isinstance(model, Response):
        return model
    values: dict[str, Any] = {"base": base, "text": document}
    try:
        parsed = parse_solution_body(document.encode(), "application/yaml")
        accepted = await submit_solution(
            state.context.upstreams, visitor.principal, owner, name, parsed
        )
    except UpstreamProblem as exc:
        values |= {"refusal": exc.problem, "lines": refusal_lines(exc.problem)}
        return await _page(request, state, visitor, model, values, exc.status)
    except ModelbayError as exc:
        if exc.status not in (400, 413, 415):
            raise
        refusal = {"title": exc.title, "detail": exc.detail}
        values |= {"refusal": refusal, "lines": [("document", str(exc.detail))]}
        return await _page(request, state, visitor, model, values, exc.status)
    target = f"/models/{quote(owner)}/{quote(name)}/versions/{accepted['version']}/recording"
    return RedirectResponse(target, status_code=303)


@router.get("/models/{owner}/{name}/versions/{version}/recording")
async def recording_page(
    request: Request,
    state: State,
    visitor: CurrentVisitor,
    owner: str,
    name: str,
    version: VersionNumber,
    poll: Annotated[int, Query(ge=0, le=RECORDING_POLLS)] = 0,
) -> Response:
    """The version's page once the catalog has recorded it; until then, for those who may push
    to the model and only for a number newer than the catalog's newest, a page that reloads."""
    if visitor.principal is None:
        return signin_redirect(request)
    upstreams, caller = state.context.upstreams, visitor.caller
    version_url = f"/models/{quote(owner)}/{quote(name)}/versions/{version}"
    # The model first, then the version: a version recorded between the two reads is found by
    # the second, so "newer than the newest" below is never judged on a newer model row (that
    # order raced: the version missing, then the model already counting it, gave the 404 page).
    model = await get_model(upstreams, caller, owner, name)  # the one 404 page if unseen
    try:
        await get_version(upstreams, caller, owner, name, version)
    except UpstreamProblem as exc:
        if exc.status != 404:
            raise
        access = model_access(model)
        newer = version > int(model.get("latest_version") or 0)
        if not (newer and can_change(caller, access)):
            raise  # a number that is not coming, or not theirs: the one 404 page
        values = {
            "visitor": visitor,
            "model": model,
            "version": version,
            "version_url": version_url,
            "next_poll": poll + 1 if poll < RECORDING_POLLS else None,
        }
        return state.templates.TemplateResponse(request, "version_recording.html", values)
    return RedirectResponse(version_url, status_code=303)
