"""Aliases on the model page and the publishers' review queue (`/reviews`).

Both call the use cases behind `/v1/.../aliases` and `/v1/publish-requests`
(`service_curation`) as the signed-in user; the catalog decides. A maintainer moves `@stable`
(or any alias) to a ready version or removes it; a refusal that belongs to the alias form (a name
that is not an alias, a version that is not ready) comes back next to it (422). A publisher
approves (comment optional) or declines (comment required) a request; a request they may not
decide shows why instead of the buttons, and the catalog refuses it anyway
(`can_decide_publication`).
"""

# No `from __future__ import annotations`: FastAPI must see the Annotated aliases.
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from modelbay_common.access import Caller, ModelAccess, can_decide_publication
from modelbay_common.api_params import INT64_MAX
from modelbay_common.contracts.curation import PublishRequest, is_alias_name

from modelbay_gateway.errors import UpstreamProblem
from modelbay_gateway.service_curation import (
    decide_publish_request,
    list_publish_requests,
    move_alias,
    remove_alias,
)
from modelbay_gateway.web.errors import HtmlErrorRoute
from modelbay_gateway.web.pages_model import render_model_page
from modelbay_gateway.web.session import Visitor
from modelbay_gateway.web.state import State
from modelbay_gateway.web.visitors import FormSender, SignedInVisitor

router = APIRouter(route_class=HtmlErrorRoute, include_in_schema=False)

ShortText = Annotated[str, Form(max_length=100)]
Comment = Annotated[str, Form(max_length=2000)]
RequestId = Annotated[int, Path(ge=1, le=INT64_MAX)]
REQUESTS_SHOWN = 50


def _model_url(owner: str, name: str, anchor: str) -> str:
    return f"/models/{quote(owner)}/{quote(name)}#{anchor}"


@router.post("/models/{owner}/{name}/aliases")
async def alias_move(
    request: Request,
    state: State,
    visitor: FormSender,
    owner: str,
    name: str,
    alias: ShortText = "",
    version: ShortText = "",
) -> Response:
    alias = alias.strip().removeprefix("@")
    errors: dict[str, str] = {}
    if not is_alias_name(alias):
        errors["alias_name"] = "A letter, then letters, digits, dots, dashes or underscores."
    if not version.isdigit():
        errors["alias_version"] = "Choose a ready version."
    if not errors:
        try:
            await move_alias(
                state.context.upstreams, visitor.caller, owner, name, alias, int(version)
            )
        except UpstreamProblem as exc:
            if exc.status not in (409, 422):
                raise
            errors["alias_name"] = str(exc.problem.get("detail") or exc.problem.get("title"))
    if errors:
        form = {"alias_name": alias, "alias_version": version}
        return await render_model_page(
            request, state, visitor, owner, name, None, form=form, errors=errors
        )
    return RedirectResponse(_model_url(owner, name, "aliases"), status_code=303)


@router.post("/models/{owner}/{name}/aliases/{alias}/delete")
async def alias_remove(
    request: Request,
    state: State,
    visitor: FormSender,
    owner: str,
    name: str,
    alias: Annotated[str, Path(max_length=100)],
) -> Response:
    await remove_alias(state.context.upstreams, visitor.caller, owner, name, alias)
    return RedirectResponse(_model_url(owner, name, "aliases"), status_code=303)


def why_not_decide(caller: Caller, item: PublishRequest) -> str | None:
    """Why `caller` may not decide `item` (None when they may): the page says it in words."""
    if item.status != "pending":
        return None
    if not (caller.admin or caller.publisher):
        return "Waiting for a publisher."
    model = ModelAccess(owner=item.owner, owner_org=None, visibility=item.visibility)
    if can_decide_publication(caller, model, item.requested_by):
        return None
    if caller.user == item.requested_by:
        return "You asked for this publication: another publisher must decide it."
    return "This model is yours (or your organisation's): another publisher must decide it."


async def _reviews(
    request: Request,
    state: State,
    visitor: Visitor,
    status: str,
    *,
    decided: int | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    caller = visitor.caller
    params: dict[str, str | int] = {"status": status, "limit": REQUESTS_SHOWN}
    page = await list_publish_requests(state.context.upstreams, caller, params)
    values = {
        "visitor": visitor,
        "items": [
            {"request": item, "why_not": why_not_decide(caller, item)} for item in page.items
        ],
        "status": status,
        "statuses": ("pending", "approved", "declined"),
        "decider": caller.admin or caller.publisher,
        "decided": decided,
        "errors": errors or {},
    }
    code = 422 if errors else 200
    return state.templates.TemplateResponse(request, "reviews.html", values, status_code=code)


@router.get("/reviews")
async def reviews_page(
    request: Request,
    state: State,
    visitor: SignedInVisitor,
    status: Literal["pending", "approved", "declined"] = "pending",
    decided: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
) -> Response:
    """Pending requests (every one for publishers, your own otherwise), or decided ones."""
    return await _reviews(request, state, visitor, status, decided=decided)


@router.post("/reviews/{request_id}/{decision}")
async def review_decide(
    request: Request,
    state: State,
    visitor: FormSender,
    request_id: RequestId,
    decision: Literal["approve", "decline"],
    comment: Comment = "",
) -> Response:
    body: dict[str, Any] = {"comment": comment.strip()} if comment.strip() else {}
    if decision == "decline" and not body:
        # The catalog refuses it too (comment-required); said here, next to the box.
        errors = {f"comment-{request_id}": "Say why you decline: the owner reads this comment."}
        return await _reviews(request, state, visitor, "pending", errors=errors)
    await decide_publish_request(
        state.context.upstreams, visitor.caller, request_id, decision, body
    )
    return RedirectResponse(f"/reviews?decided={request_id}", status_code=303)
