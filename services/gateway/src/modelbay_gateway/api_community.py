"""Routes of ratings, reviews, comments, favourites and views (docs/api.md, "Community").

Reads follow the model's visibility (anonymous callers too, when `ANONYMOUS_READ` is on);
changes need a token. A model the caller may not see is a 404 exactly like a missing one; a
visible model but someone else's comment or rating is a 403.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse
from modelbay_common.contracts.catalog import ModelSummary
from modelbay_common.contracts.social import (
    Comment,
    CommentBody,
    CommentEditBody,
    CommentPage,
    FavouriteState,
    ModelStats,
    ModerationBody,
    Rating,
    RatingBody,
    RatingPage,
    RatingSummary,
    ViewBody,
    ViewCounts,
)

from modelbay_gateway import service_community as community
from modelbay_gateway.auth import Reader, SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.problems import problem_responses
from modelbay_gateway.service_models import caller_of

MODEL = "/v1/models/{owner}/{name}"
COMMENTS = MODEL + "/versions/{version}/comments"

Limit = Annotated[int | None, Query(ge=1, le=100, description="page size (default 20)")]
Cursor = Annotated[str | None, Query(max_length=40, description="`next_cursor` of a page")]
# Bounded like the catalog's columns, so an absurd number is a 422 here rather than upstream.
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]
CommentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
UserName = Annotated[str, Path(min_length=1, max_length=200)]

READ = problem_responses(401, 404, 422)
CHANGE = problem_responses(401, 403, 404, 409, 422)

router = APIRouter(tags=["community"])


@router.get(MODEL + "/stats", response_model=ModelStats, responses=READ)
async def stats(owner: str, name: str, principal: Reader, context: ContextDep) -> ModelStats:
    """Rating summary, stars, views and downloads of a model, with the caller's own rating."""
    return await community.model_stats(context.upstreams, caller_of(principal), owner, name)


# -- ratings ---------------------------------------------------------------------------------


@router.get(MODEL + "/ratings", response_model=RatingPage, responses=READ)
async def ratings(
    owner: str,
    name: str,
    principal: Reader,
    context: ContextDep,
    limit: Limit = None,
    cursor: Cursor = None,
) -> RatingPage:
    """The summary (count, average, histogram) and the ratings with reviews, newest first."""
    caller = caller_of(principal)
    return await community.list_ratings(context.upstreams, caller, owner, name, limit, cursor)


@router.get(MODEL + "/ratings/{user}", response_model=Rating, responses=READ)
async def rating_of(
    owner: str, name: str, user: UserName, principal: Reader, context: ContextDep
) -> Rating:
    """One user's rating of the model (404 `rating-not-found` when they have none)."""
    return await community.get_rating(context.upstreams, caller_of(principal), owner, name, user)


@router.put(
    MODEL + "/rating",
    response_model=Rating,
    responses={201: {"description": "Rated for the first time", "model": Rating}, **CHANGE},
)
async def rate(
    owner: str, name: str, body: RatingBody, principal: SignedIn, context: ContextDep
) -> JSONResponse:
    """Rate the model 1 to 5 stars with an optional review: one rating per user, so sending it
    again replaces it (201 the first time, 200 after). Owners cannot rate their own models."""
    created, rating = await community.rate_model(
        context.upstreams, caller_of(principal), owner, name, body
    )
    return JSONResponse(rating.model_dump(mode="json"), status_code=201 if created else 200)


@router.delete(MODEL + "/ratings/{user}", response_model=RatingSummary, responses=CHANGE)
async def remove_rating(
    owner: str, name: str, user: UserName, principal: SignedIn, context: ContextDep
) -> RatingSummary:
    """Remove a rating: your own, or anyone's as an administrator. Answers the new summary."""
    caller = caller_of(principal)
    return await community.remove_rating(context.upstreams, caller, owner, name, user)


# -- favourites and views --------------------------------------------------------------------


@router.put(MODEL + "/favourite", response_model=FavouriteState, responses=CHANGE)
async def star(owner: str, name: str, principal: SignedIn, context: ContextDep) -> FavouriteState:
    """Star the model (idempotent)."""
    caller = caller_of(principal)
    return await community.set_favourite(context.upstreams, caller, owner, name, True)


@router.delete(MODEL + "/favourite", response_model=FavouriteState, responses=CHANGE)
async def unstar(owner: str, name: str, principal: SignedIn, context: ContextDep) -> FavouriteState:
    """Remove your star (idempotent)."""
    caller = caller_of(principal)
    return await community.set_favourite(context.upstreams, caller, owner, name, False)


@router.get(
    "/v1/me/favourites", response_model=list[ModelSummary], responses=problem_responses(401)
)
async def my_favourites(principal: SignedIn, context: ContextDep) -> list[ModelSummary]:
    """The models you starred and may still see, most recently starred first (at most 100)."""
    return await community.my_favourites(context.upstreams, caller_of(principal))


@router.post(MODEL + "/views", response_model=ViewCounts, responses=READ)
async def view(
    owner: str, name: str, body: ViewBody, principal: Reader, context: ContextDep
) -> ViewCounts:
    """Count one view of the model page (of one version when `version` is given). Views are
    counters, not events; the web UI counts its model page itself."""
    caller = caller_of(principal)
    return await community.record_view(context.upstreams, caller, owner, name, body.version)


# -- comments --------------------------------------------------------------------------------


@router.get(COMMENTS, response_model=CommentPage, responses=problem_responses(400, 401, 404, 422))
async def comments(
    owner: str,
    name: str,
    version: VersionNumber,
    principal: Reader,
    context: ContextDep,
    limit: Limit = None,
    cursor: Cursor = None,
) -> CommentPage:
    """Threads on a version, oldest first, each with all its replies nested. Deleted comments
    with replies stay as placeholders; hidden ones show their text only to their author and
    administrators."""
    caller = caller_of(principal)
    return await community.list_comments(
        context.upstreams, caller, owner, name, version, limit, cursor
    )


@router.post(COMMENTS, response_model=Comment, status_code=201, responses=CHANGE)
async def post_comment(
    owner: str,
    name: str,
    version: VersionNumber,
    body: CommentBody,
    principal: SignedIn,
    context: ContextDep,
) -> Comment:
    """Comment on a version, or reply to a comment of the same version (`parent_id`)."""
    caller = caller_of(principal)
    return await community.post_comment(context.upstreams, caller, owner, name, version, body)


@router.patch(COMMENTS + "/{comment_id}", response_model=Comment, responses=CHANGE)
async def edit_comment(
    owner: str,
    name: str,
    version: VersionNumber,
    comment_id: CommentId,
    body: CommentEditBody,
    principal: SignedIn,
    context: ContextDep,
) -> Comment:
    """Change the text of your comment."""
    return await community.edit_comment(
        context.upstreams, caller_of(principal), owner, name, version, comment_id, body
    )


@router.delete(
    COMMENTS + "/{comment_id}", status_code=204, response_class=Response, responses=CHANGE
)
async def delete_comment(
    owner: str,
    name: str,
    version: VersionNumber,
    comment_id: CommentId,
    principal: SignedIn,
    context: ContextDep,
) -> Response:
    """Delete your comment (administrators: anyone's). Its replies stay under a placeholder."""
    await community.delete_comment(
        context.upstreams, caller_of(principal), owner, name, version, comment_id
    )
    return Response(status_code=204)


@router.put(COMMENTS + "/{comment_id}/moderation", response_model=Comment, responses=CHANGE)
async def moderate_comment(
    owner: str,
    name: str,
    version: VersionNumber,
    comment_id: CommentId,
    body: ModerationBody,
    principal: SignedIn,
    context: ContextDep,
) -> Comment:
    """Hide a comment or show it again (administrators), with an optional reason."""
    return await community.moderate_comment(
        context.upstreams, caller_of(principal), owner, name, version, comment_id, body
    )
