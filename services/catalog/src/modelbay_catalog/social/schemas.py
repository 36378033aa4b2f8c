"""Answers of the social routes, built from records as the shared contract
(`modelbay_common.contracts.social`); the request bodies are declared there too."""

from __future__ import annotations

from modelbay_common.contracts.social import (
    Comment,
    CommentPage,
    CommentThread,
    ModelStats,
    Rating,
    RatingPage,
    RatingSummary,
    VersionCounts,
)

from modelbay_catalog.social.comments import ThreadsPage
from modelbay_catalog.social.errors import InvalidPageCursor
from modelbay_catalog.social.records import CommentNode, CommentRecord, RatingRecord
from modelbay_catalog.social.rules import RatingTally
from modelbay_catalog.social.service import ModelStatsView, RatingsPage, tally_of_counters


def page_cursor(cursor: str | None) -> int | None:
    """The row id an opaque page cursor holds (it is the decimal id; clients must not care)."""
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 19:
        raise InvalidPageCursor()
    return int(cursor)


def _next_cursor(row_id: int | None) -> str | None:
    return None if row_id is None else str(row_id)


def rating_summary(tally: RatingTally) -> RatingSummary:
    return RatingSummary(
        count=tally.count, average=tally.average, histogram=tally.histogram_by_star()
    )


def rating(record: RatingRecord) -> Rating:
    return Rating(
        user=record.username,
        stars=record.stars,
        review=record.review,
        version=record.version,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def rating_page(page: RatingsPage) -> RatingPage:
    return RatingPage(
        summary=rating_summary(page.tally),
        items=[rating(found) for found in page.ratings],
        next_cursor=_next_cursor(page.next_before),
    )


def model_stats(view: ModelStatsView) -> ModelStats:
    counters = view.counters
    return ModelStats(
        owner=view.model.owner,
        name=view.model.name,
        ratings=rating_summary(tally_of_counters(counters)),
        favourites=counters.favourites,
        views=counters.views,
        downloads=counters.downloads,
        my_rating=None if view.my_rating is None else rating(view.my_rating),
        favourited=view.favourited,
        versions=[
            VersionCounts(version=number, views=views, downloads=downloads)
            for number, views, downloads in view.versions
        ],
    )


def _comment_fields(record: CommentRecord, body: str | None, state: str) -> dict[str, object]:
    return {
        "id": record.id,
        "version": record.version,
        "parent_id": record.parent_id,
        "author": record.author,
        "body": body,
        "state": state,
        "moderation_reason": record.hidden_reason if state == "hidden" else None,
        "created_at": record.created_at,
        "edited_at": record.edited_at,
    }


def comment(record: CommentRecord) -> Comment:
    """A comment as its author or a moderator sees it right after changing it."""
    state = "deleted" if record.deleted else "hidden" if record.hidden else "visible"
    return Comment.model_validate(_comment_fields(record, record.body, state))


def _thread(node: CommentNode) -> CommentThread:
    fields = _comment_fields(node.comment, node.body, node.state)
    return CommentThread.model_validate(
        {**fields, "replies": [_thread(reply) for reply in node.replies]}
    )


def comment_page(page: ThreadsPage) -> CommentPage:
    return CommentPage(
        items=[_thread(node) for node in page.threads],
        next_cursor=_next_cursor(page.next_after),
        total=page.total,
    )
