"""Events of ratings, comments and favourites (docs/events.md, "Community events").

Ratings and favourites belong to a model, comments to a version. Every event still names a
version (the envelope's subject is owner/name/version): the version rated, the version a
comment is on, and for a favourite the model's newest version at the time.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from modelbay_common.events.base import Event


class ModelRated(Event):
    """Sent by the catalog when a user rates a model for the first time or changes their rating.

    `previous_stars` is null for a first rating. `rating_count` and `rating_average` are the
    model's summary after this change. `version` is the version the user rated.
    """

    type: ClassVar[str] = "modelbay.model.rated.v1"

    rated_by: str
    stars: int = Field(ge=1, le=5)
    previous_stars: int | None = Field(default=None, ge=1, le=5)
    review: str | None = None
    rating_count: int = Field(ge=0)
    rating_average: float | None = None


class ModelRatingRemoved(Event):
    """Sent by the catalog when a rating is removed, by its author or by an administrator.

    `stars` is the removed rating; the summary fields are the model's after the removal.
    """

    type: ClassVar[str] = "modelbay.model.rating_removed.v1"

    rated_by: str
    stars: int = Field(ge=1, le=5)
    removed_by: str
    rating_count: int = Field(ge=0)
    rating_average: float | None = None


class CommentPosted(Event):
    """Sent by the catalog when a user comments on a version, or replies to a comment.

    `parent_id` is the comment replied to (null for a new thread).
    """

    type: ClassVar[str] = "modelbay.model.comment_posted.v1"

    comment_id: int = Field(ge=1)
    parent_id: int | None = None
    author: str
    body: str


class CommentEdited(Event):
    """Sent by the catalog when the author of a comment changes its text."""

    type: ClassVar[str] = "modelbay.model.comment_edited.v1"

    comment_id: int = Field(ge=1)
    author: str
    body: str


class CommentDeleted(Event):
    """Sent by the catalog when a comment is deleted, by its author or by an administrator.

    Its text is gone; when it has replies, a placeholder keeps their place in the thread.
    """

    type: ClassVar[str] = "modelbay.model.comment_deleted.v1"

    comment_id: int = Field(ge=1)
    author: str
    deleted_by: str


class CommentHidden(Event):
    """Sent by the catalog when an administrator hides a comment (`hidden` true) or shows a
    hidden one again (`hidden` false); `reason` is the moderator's note, if any."""

    type: ClassVar[str] = "modelbay.model.comment_hidden.v1"

    comment_id: int = Field(ge=1)
    author: str
    hidden: bool
    moderator: str
    reason: str | None = None


class ModelFavourited(Event):
    """Sent by the catalog when a user stars a model they had not starred.

    `favourites` is how many users have starred the model now; `version` is its newest version.
    """

    type: ClassVar[str] = "modelbay.model.favourited.v1"

    favourited_by: str
    favourites: int = Field(ge=0)


class ModelUnfavourited(Event):
    """Sent by the catalog when a user removes their star from a model.

    `favourites` is how many users have starred the model now; `version` is its newest version.
    """

    type: ClassVar[str] = "modelbay.model.unfavourited.v1"

    favourited_by: str
    favourites: int = Field(ge=0)
