"""Internal routes of ratings, comments, favourites and views (docs/catalog.md, "Community").

Same style as the catalog's `api.py`, whose typed dependencies they use: the caller from the
gateway's headers, one transaction per request, a use case, an answer of the shared contract.
"""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
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
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.api import CallerDep, SessionDep
from modelbay_catalog.federation.origins import ensure_writable
from modelbay_catalog.schemas import model_summary
from modelbay_catalog.social import comments, schemas, service
from modelbay_catalog.social.service import Stores
from modelbay_catalog.social.store import SocialStore
from modelbay_catalog.store import CatalogStore

MODEL = "/internal/models/{owner}/{name}"
COMMENTS = MODEL + "/versions/{version}/comments"

Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Cursor = Annotated[str | None, Query(max_length=40, description="`next_cursor` of a page")]
# Bounded like the columns they are compared with, so an absurd number is a 422, not a 500.
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]
CommentId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _stores(session: AsyncSession) -> Stores:
    return Stores(CatalogStore(session), SocialStore(session))


router = APIRouter(tags=["community"])


@router.get(MODEL + "/stats", response_model=ModelStats)
async def stats(session: SessionDep, caller: CallerDep, owner: str, name: str) -> ModelStats:
    return schemas.model_stats(await service.model_stats(_stores(session), caller, owner, name))


# -- ratings ---------------------------------------------------------------------------------


@router.get(MODEL + "/ratings", response_model=RatingPage)
async def list_ratings(
    session: SessionDep,
    caller: CallerDep,
    owner: str,
    name: str,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> RatingPage:
    before = schemas.page_cursor(cursor)
    page = await service.ratings_page(_stores(session), caller, owner, name, before, limit)
    return schemas.rating_page(page)


@router.get(MODEL + "/ratings/{user}", response_model=Rating)
async def get_rating(
    session: SessionDep, caller: CallerDep, owner: str, name: str, user: str
) -> Rating:
    found = await service.find_rating(_stores(session), caller, owner, name, user)
    return schemas.rating(found)


@router.put(MODEL + "/rating", response_model=Rating)
async def rate(
    session: SessionDep,
    caller: CallerDep,
    owner: str,
    name: str,
    body: RatingBody,
    response: Response,
) -> Rating:
    """The caller's rating: 201 when new, 200 when it replaced their earlier one."""
    # A mirrored model is read-only here (docs/federation.md): 409 `model-is-mirrored`.
    await ensure_writable(session, owner, name)
    change = await service.rate_model(
        _stores(session),
        caller,
        owner,
        name,
        stars=body.stars,
        review=body.review,
        version=body.version,
    )
    response.status_code = 201 if change.created else 200
    return schemas.rating(change.rating)


@router.delete(MODEL + "/ratings/{user}", response_model=RatingSummary)
async def remove_rating(
    session: SessionDep, caller: CallerDep, owner: str, name: str, user: str
) -> RatingSummary:
    tally = await service.remove_rating(_stores(session), caller, owner, name, user)
    return schemas.rating_summary(tally)


# -- favourites and views --------------------------------------------------------------------


@router.put(MODEL + "/favourite", response_model=FavouriteState)
async def star(session: SessionDep, caller: CallerDep, owner: str, name: str) -> FavouriteState:
    starred, count = await service.set_favourite(_stores(session), caller, owner, name, True)
    return FavouriteState(favourited=starred, favourites=count)


@router.delete(MODEL + "/favourite", response_model=FavouriteState)
async def unstar(session: SessionDep, caller: CallerDep, owner: str, name: str) -> FavouriteState:
    starred, count = await service.set_favourite(_stores(session), caller, owner, name, False)
    return FavouriteState(favourited=starred, favourites=count)


@router.get("/internal/favourites", response_model=list[ModelSummary])
async def my_favourites(
    session: SessionDep, caller: CallerDep, limit: Limit = 100
) -> list[ModelSummary]:
    found = await service.favourite_models(_stores(session), caller, limit)
    return [model_summary(model) for model in found]


@router.post(MODEL + "/views", response_model=ViewCounts)
async def view(
    session: SessionDep, caller: CallerDep, owner: str, name: str, body: ViewBody
) -> ViewCounts:
    counted = await service.record_view(_stores(session), caller, owner, name, body.version)
    return ViewCounts(model_views=counted[0], version=body.version, version_views=counted[1])


# -- comments --------------------------------------------------------------------------------


@router.get(COMMENTS, response_model=CommentPage)
async def list_comments(
    session: SessionDep,
    caller: CallerDep,
    owner: str,
    name: str,
    version: VersionNumber,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> CommentPage:
    after = schemas.page_cursor(cursor)
    page = await comments.comment_threads(
        _stores(session), caller, owner, name, version, after, limit
    )
    return schemas.comment_page(page)


@router.post(COMMENTS, response_model=Comment, status_code=201)
async def post_comment(
    session: SessionDep,
    caller: CallerDep,
    owner: str,
    name: str,
    version: VersionNumber,
    body: CommentBody,
) -> Comment:
    posted = await comments.post_comment(
        _stores(session), caller, owner, name, version, body.body, body.parent_id
    )
    return schemas.comment(posted)


@router.patch(COMMENTS + "/{comment_id}", response_model=Comment)
async def edit_comment(
    session: SessionDep,
    caller: CallerDep,
    owner: str,
    name: str,
    version: VersionNumber,
    comment_id: CommentId,
    body: CommentEditBody,
) -> Comment:
    edited = await comments.edit_comment(
        _stores(session), caller, owner, name, version, comment_id, body.body
    )
    return schemas.comment(edited)


@router.delete(COMMENTS + "/{comment_id}", status_code=204, response_class=Response)
async def delete_comment(
    session: SessionDep,
    caller: CallerDep,
    owner: str,
    name: str,
    version: VersionNumber,
    comment_id: CommentId,
) -> Response:
    await comments.delete_comment(_stores(session), caller, owner, name, version, comment_id)
    return Response(status_code=204)


@router.put(COMMENTS + "/{comment_id}/moderation", response_model=Comment)
async def moderate_comment(
    session: SessionDep,
    caller: CallerDep,
    owner: str,
    name: str,
    version: VersionNumber,
    comment_id: CommentId,
    body: ModerationBody,
) -> Comment:
    moderated = await comments.moderate_comment(
        _stores(session),
        caller,
        owner,
        name,
        version,
        comment_id,
        hidden=body.hidden,
        reason=body.reason,
    )
    return schemas.comment(moderated)
