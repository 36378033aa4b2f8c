"""Use cases of ratings, comments, favourites and views: the catalog decides, as the caller.

Each call goes to the catalog's internal API with the caller's headers; a 4xx problem comes back
unchanged (its 404 is the no-leak 404), and the answer is parsed into the shared contract
(`modelbay_common.contracts.social`). The web pages call these functions too.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar
from urllib.parse import quote

from modelbay_common.access import Caller
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
from pydantic import BaseModel, TypeAdapter, ValidationError

from modelbay_gateway.errors import UpstreamFailed
from modelbay_gateway.upstream import CATALOG, Upstreams, model_path, parsed, raise_for_upstream

log = logging.getLogger(__name__)

ContractT = TypeVar("ContractT", bound=BaseModel)
_SUMMARIES = TypeAdapter(list[ModelSummary])


def _model(owner: str, name: str) -> str:
    return f"/internal/models/{model_path(owner, name)}"


def _comments(owner: str, name: str, version: int) -> str:
    return f"{_model(owner, name)}/versions/{version}/comments"


async def _call(
    upstreams: Upstreams,
    caller: Caller,
    method: str,
    path: str,
    contract: type[ContractT],
    **options: Any,
) -> tuple[int, ContractT]:
    response = await upstreams.request(CATALOG, method, path, caller, **options)
    return response.status_code, parsed(response, CATALOG, contract)


def _page(limit: int | None, cursor: str | None) -> dict[str, str | int]:
    given: dict[str, str | int | None] = {"limit": limit, "cursor": cursor}
    return {key: value for key, value in given.items() if value is not None}


async def model_stats(upstreams: Upstreams, caller: Caller, owner: str, name: str) -> ModelStats:
    path = f"{_model(owner, name)}/stats"
    return (await _call(upstreams, caller, "GET", path, ModelStats))[1]


async def list_ratings(
    upstreams: Upstreams,
    caller: Caller,
    owner: str,
    name: str,
    limit: int | None = None,
    cursor: str | None = None,
) -> RatingPage:
    path = f"{_model(owner, name)}/ratings"
    params = _page(limit, cursor)
    return (await _call(upstreams, caller, "GET", path, RatingPage, params=params))[1]


async def get_rating(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, user: str
) -> Rating:
    path = f"{_model(owner, name)}/ratings/{quote(user, safe='')}"
    return (await _call(upstreams, caller, "GET", path, Rating))[1]


async def rate_model(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, body: RatingBody
) -> tuple[bool, Rating]:
    """The caller's rating saved; True when it is their first rating of the model."""
    path = f"{_model(owner, name)}/rating"
    json = body.model_dump(exclude_none=True)
    status, rating = await _call(upstreams, caller, "PUT", path, Rating, json=json)
    return status == 201, rating


async def remove_rating(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, user: str
) -> RatingSummary:
    path = f"{_model(owner, name)}/ratings/{quote(user, safe='')}"
    return (await _call(upstreams, caller, "DELETE", path, RatingSummary))[1]


async def set_favourite(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, favourite: bool
) -> FavouriteState:
    method = "PUT" if favourite else "DELETE"
    path = f"{_model(owner, name)}/favourite"
    return (await _call(upstreams, caller, method, path, FavouriteState))[1]


async def my_favourites(upstreams: Upstreams, caller: Caller) -> list[ModelSummary]:
    response = await upstreams.request(CATALOG, "GET", "/internal/favourites", caller)
    raise_for_upstream(response, CATALOG)
    try:
        return _SUMMARIES.validate_json(response.content)
    except ValidationError as exc:
        log.error("the catalog answered favourites against its contract: %s", exc)
        raise UpstreamFailed(CATALOG) from None


async def record_view(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int | None = None
) -> ViewCounts:
    """Count one view of a model page (the web UI's model page calls this as it renders)."""
    path = f"{_model(owner, name)}/views"
    json = ViewBody(version=version).model_dump(exclude_none=True)
    return (await _call(upstreams, caller, "POST", path, ViewCounts, json=json))[1]


async def list_comments(
    upstreams: Upstreams,
    caller: Caller,
    owner: str,
    name: str,
    version: int,
    limit: int | None = None,
    cursor: str | None = None,
) -> CommentPage:
    path = _comments(owner, name, version)
    params = _page(limit, cursor)
    return (await _call(upstreams, caller, "GET", path, CommentPage, params=params))[1]


async def post_comment(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int, body: CommentBody
) -> Comment:
    path = _comments(owner, name, version)
    json = body.model_dump(exclude_none=True)
    return (await _call(upstreams, caller, "POST", path, Comment, json=json))[1]


async def edit_comment(
    upstreams: Upstreams,
    caller: Caller,
    owner: str,
    name: str,
    version: int,
    comment_id: int,
    body: CommentEditBody,
) -> Comment:
    path = f"{_comments(owner, name, version)}/{comment_id}"
    return (await _call(upstreams, caller, "PATCH", path, Comment, json=body.model_dump()))[1]


async def delete_comment(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int, comment_id: int
) -> None:
    path = f"{_comments(owner, name, version)}/{comment_id}"
    response = await upstreams.request(CATALOG, "DELETE", path, caller)
    raise_for_upstream(response, CATALOG)


async def moderate_comment(
    upstreams: Upstreams,
    caller: Caller,
    owner: str,
    name: str,
    version: int,
    comment_id: int,
    body: ModerationBody,
) -> Comment:
    path = f"{_comments(owner, name, version)}/{comment_id}/moderation"
    json = body.model_dump(exclude_none=True)
    return (await _call(upstreams, caller, "PUT", path, Comment, json=json))[1]
