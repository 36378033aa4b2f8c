"""Ratings, reviews, comments, favourites and view counts: the bodies the gateway forwards and
the answers the catalog gives, declared once (docs/architecture.md, docs/api.md "Community").

The request bodies carry their bounds here, so the gateway's public OpenAPI and the catalog's
validation refuse the same input (a 422 naming the field); the catalog checks again because
the gateway is not its only possible caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "MAX_COMMENT_LENGTH",
    "MAX_MODERATION_REASON_LENGTH",
    "MAX_REVIEW_LENGTH",
    "MAX_STARS",
    "MIN_STARS",
    "Comment",
    "CommentBody",
    "CommentEditBody",
    "CommentPage",
    "CommentThread",
    "FavouriteState",
    "ModelStats",
    "ModerationBody",
    "Rating",
    "RatingBody",
    "RatingPage",
    "RatingSummary",
    "VersionCounts",
    "ViewBody",
    "ViewCounts",
]

MIN_STARS, MAX_STARS = 1, 5
MAX_REVIEW_LENGTH = 5_000
MAX_COMMENT_LENGTH = 5_000
MAX_MODERATION_REASON_LENGTH = 500
# The widest numbers the columns hold, so an absurd number is a 422 naming the field.
_MAX_VERSION, _MAX_ID = 2**31 - 1, 2**63 - 1


def _text(most: int) -> object:
    # Stripped first, so a body of only spaces is empty and refused.
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=most)


ReviewText = Annotated[str, _text(MAX_REVIEW_LENGTH)]
CommentText = Annotated[str, _text(MAX_COMMENT_LENGTH)]
ReasonText = Annotated[str, _text(MAX_MODERATION_REASON_LENGTH)]
Stars = Annotated[int, Field(ge=MIN_STARS, le=MAX_STARS, description="1 (poor) to 5 (great)")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RatingBody(_Body):
    """`PUT .../rating`: the caller's rating of a model; sending it again edits it."""

    stars: Stars
    review: ReviewText | None = Field(
        default=None, description=f"optional text, 1 to {MAX_REVIEW_LENGTH} characters"
    )
    version: int | None = Field(
        default=None,
        ge=1,
        le=_MAX_VERSION,
        description="the version rated; default: the model's newest",
    )


class CommentBody(_Body):
    """`POST .../versions/{version}/comments`: a new comment, or a reply to `parent_id`."""

    body: CommentText = Field(description=f"1 to {MAX_COMMENT_LENGTH} characters (Markdown)")
    parent_id: int | None = Field(
        default=None, ge=1, le=_MAX_ID, description="the comment replied to"
    )


class CommentEditBody(_Body):
    """`PATCH .../comments/{comment_id}`: the author's new text."""

    body: CommentText = Field(description=f"1 to {MAX_COMMENT_LENGTH} characters (Markdown)")


class ModerationBody(_Body):
    """`PUT .../comments/{comment_id}/moderation`: an administrator hides or shows a comment."""

    hidden: bool
    reason: ReasonText | None = Field(default=None, description="shown with the placeholder")


class ViewBody(_Body):
    """`POST .../views`: one view of the model page, of one version when `version` is given."""

    version: int | None = Field(default=None, ge=1, le=_MAX_VERSION)


class RatingSummary(BaseModel):
    """Every rating of a model, kept in step with each rating in the same transaction."""

    count: int
    average: float | None = Field(description="mean stars, 2 decimals; null without ratings")
    histogram: dict[str, int] = Field(description='ratings per star, "1" to "5" (all present)')


class Rating(BaseModel):
    """One user's rating of a model, with the optional review."""

    user: str
    stars: int
    review: str | None
    version: int | None = Field(description="the version rated")
    created_at: datetime
    updated_at: datetime


class RatingPage(BaseModel):
    summary: RatingSummary
    items: list[Rating] = Field(description="newest first (by when each user first rated)")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class FavouriteState(BaseModel):
    favourited: bool = Field(description="whether the caller has starred the model")
    favourites: int = Field(description="how many users have starred it")


class ViewCounts(BaseModel):
    model_views: int
    version: int | None
    version_views: int | None


class VersionCounts(BaseModel):
    version: int
    views: int
    downloads: int = Field(description="downloads of every kind of this version")


class ModelStats(BaseModel):
    """What the model page shows beside the card: ratings, stars, views, downloads, and the
    caller's own rating and star."""

    owner: str
    name: str
    ratings: RatingSummary
    favourites: int
    views: int
    downloads: int = Field(description="downloads of every version and kind")
    my_rating: Rating | None = Field(description="the caller's rating; null when none")
    favourited: bool = Field(description="whether the caller has starred the model")
    versions: list[VersionCounts] = Field(default=[], description="views and downloads per version")


class Comment(BaseModel):
    """One comment. A deleted or hidden comment keeps its place (its replies hang from it) but
    not its text: `body` is null and `state` says why (administrators still see a hidden
    comment's text)."""

    id: int
    version: int
    parent_id: int | None
    author: str
    body: str | None
    state: str = Field(description="`visible`, `hidden` (by a moderator) or `deleted`")
    moderation_reason: str | None
    created_at: datetime
    edited_at: datetime | None


class CommentThread(Comment):
    replies: list[CommentThread] = Field(description="oldest first, nested")


class CommentPage(BaseModel):
    """Top-level comments, oldest first, each with its whole thread of replies."""

    items: list[CommentThread]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")
    total: int = Field(description="comments on the version that are not deleted")
