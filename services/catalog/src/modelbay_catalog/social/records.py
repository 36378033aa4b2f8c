"""What the social store hands to the use cases: frozen records, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RatingRecord:
    id: int
    username: str
    stars: int
    review: str | None
    version: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CommentRecord:
    id: int
    version: int
    parent_id: int | None
    root_id: int | None
    depth: int
    author: str
    body: str | None
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    deleted_by: str | None
    hidden_at: datetime | None
    hidden_by: str | None
    hidden_reason: str | None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def thread_id(self) -> int:
        """The id of the thread's first comment (its own id for a top-level comment)."""
        return self.root_id if self.root_id is not None else self.id


@dataclass(frozen=True)
class CommentNode:
    """A comment as one viewer sees it, with the replies they see."""

    comment: CommentRecord
    body: str | None  # None when deleted, or hidden from this viewer
    state: str  # "visible", "hidden", "deleted"
    replies: tuple[CommentNode, ...]


@dataclass(frozen=True)
class Counters:
    """A model's community counters as stored on its row."""

    rating_count: int
    rating_total: int
    rating_histogram: tuple[int, ...]
    favourites: int
    views: int
    downloads: int
