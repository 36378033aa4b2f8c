"""The model page's community forms: rate and review, star, comment and reply, edit or delete a
comment.

Each POST checks its CSRF token first, then calls the function behind the matching `/v1` route
(`service_community`), and answers with a redirect back to the model page (post/redirect/get).
Input the contract refuses comes back as the model page with the error next to the field (422);
the catalog's other refusals (403 on your own model, 404 when it is not visible) are error pages.
"""

# No `from __future__ import annotations`: FastAPI must see the Annotated aliases.
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import RedirectResponse
from modelbay_common.contracts.social import CommentBody, CommentEditBody, RatingBody
from modelbay_common.errors import validation_error_entries
from pydantic import BaseModel, ValidationError

from modelbay_gateway import service_community
from modelbay_gateway.web.errors import HtmlErrorRoute
from modelbay_gateway.web.pages_model import render_model_page
from modelbay_gateway.web.state import State
from modelbay_gateway.web.views import field_errors
from modelbay_gateway.web.visitors import FormSender

router = APIRouter(route_class=HtmlErrorRoute, include_in_schema=False)

VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]  # the catalog's column bound
LongText = Annotated[str, Form(max_length=20_000)]
ShortText = Annotated[str, Form(max_length=40)]


def _back(owner: str, name: str, anchor: str, version: int | None = None) -> RedirectResponse:
    query = f"?version={version}" if version is not None else ""
    return RedirectResponse(f"/models/{quote(owner)}/{quote(name)}{query}#{anchor}", 303)


def _parsed(
    contract: type[BaseModel], body: dict[str, Any], prefix: str
) -> tuple[Any, dict[str, str]]:
    """The body as the contract, or the errors keyed `<prefix>_<field>` for the page."""
    try:
        return contract.model_validate(body), {}
    except ValidationError as exc:
        found = field_errors({"errors": validation_error_entries(exc.errors())})
        return None, {f"{prefix}_{field}": message for field, message in found.items()}


@router.post("/models/{owner}/{name}/rating")
async def rate(
    request: Request,
    state: State,
    visitor: FormSender,
    owner: str,
    name: str,
    stars: ShortText = "",
    review: LongText = "",
    version: ShortText = "",
) -> Response:
    body: dict[str, Any] = {"stars": stars or None, "review": review.strip() or None}
    if version:
        body["version"] = version
    rating, errors = _parsed(RatingBody, body, "rating")
    if errors:
        form = {"rating_stars": stars, "rating_review": review}
        shown = int(version) if version.isdigit() else None
        return await render_model_page(
            request, state, visitor, owner, name, shown, form=form, errors=errors
        )
    await service_community.rate_model(state.context.upstreams, visitor.caller, owner, name, rating)
    return _back(owner, name, "ratings")


@router.post("/models/{owner}/{name}/favourite")
async def favourite(
    request: Request,
    state: State,
    visitor: FormSender,
    owner: str,
    name: str,
    starred: ShortText = "",
) -> Response:
    await service_community.set_favourite(
        state.context.upstreams, visitor.caller, owner, name, starred == "true"
    )
    return _back(owner, name, "favourite")


@router.post("/models/{owner}/{name}/versions/{version}/comments")
async def comment(
    request: Request,
    state: State,
    visitor: FormSender,
    owner: str,
    name: str,
    version: VersionNumber,
    body: LongText = "",
    parent_id: ShortText = "",
) -> Response:
    given: dict[str, Any] = {"body": body}
    if parent_id:
        given["parent_id"] = parent_id
    checked, errors = _parsed(CommentBody, given, "comment")
    if errors:
        # The error goes next to the form that was sent: a reply's or the new comment's.
        key = f"reply_{parent_id}" if parent_id else "comment_body"
        errors = {key: next(iter(errors.values()))}
        form = {key: body}
        return await render_model_page(
            request, state, visitor, owner, name, version, form=form, errors=errors
        )
    posted = await service_community.post_comment(
        state.context.upstreams, visitor.caller, owner, name, version, checked
    )
    return _back(owner, name, f"comment-{posted.id}", version)


@router.post("/models/{owner}/{name}/versions/{version}/comments/{comment_id}/edit")
async def edit_comment(
    request: Request,
    state: State,
    visitor: FormSender,
    owner: str,
    name: str,
    version: VersionNumber,
    comment_id: Annotated[int, Path(ge=1)],
    body: LongText = "",
) -> Response:
    checked, errors = _parsed(CommentEditBody, {"body": body}, "comment")
    if errors:
        key = f"edit_{comment_id}"
        return await render_model_page(
            request,
            state,
            visitor,
            owner,
            name,
            version,
            form={key: body},
            errors={key: next(iter(errors.values()))},
        )
    await service_community.edit_comment(
        state.context.upstreams, visitor.caller, owner, name, version, comment_id, checked
    )
    return _back(owner, name, f"comment-{comment_id}", version)


@router.post("/models/{owner}/{name}/versions/{version}/comments/{comment_id}/delete")
async def delete_comment(
    request: Request,
    state: State,
    visitor: FormSender,
    owner: str,
    name: str,
    version: VersionNumber,
    comment_id: Annotated[int, Path(ge=1)],
) -> Response:
    await service_community.delete_comment(
        state.context.upstreams, visitor.caller, owner, name, version, comment_id
    )
    return _back(owner, name, "comments", version)
