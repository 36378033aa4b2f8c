"""Errors of ratings and comments, rendered as RFC 9457 problem+json by the common handlers.

A model the caller may not see is `ModelNotFound` before any of these can happen, so a 403
here always means the model is visible (docs/catalog.md, "Community").
"""

from __future__ import annotations

from modelbay_common.errors import BadRequest, Conflict, Forbidden, NotFound


class CommentNotFound(NotFound):
    type_slug = "comment-not-found"
    title = "Comment not found"

    def __init__(self, owner: str, name: str, version: int, comment_id: int) -> None:
        super().__init__(
            f"Version {version} of {owner}/{name} has no comment {comment_id}.",
            extensions={"owner": owner, "name": name, "version": version, "comment_id": comment_id},
        )


class NotCommentAuthor(Forbidden):
    type_slug = "not-comment-author"
    title = "Not your comment"

    def __init__(self, comment_id: int, action: str) -> None:
        who = "its author" if action == "edit" else "its author or an administrator"
        super().__init__(
            f"Only {who} may {action} comment {comment_id}.",
            extensions={"comment_id": comment_id},
        )


class ModeratorRequired(Forbidden):
    type_slug = "moderator-required"
    title = "Administrator required"

    def __init__(self) -> None:
        super().__init__("Only an administrator may hide a comment or show it again.")


class CommentDeleted(Conflict):
    type_slug = "comment-deleted"
    title = "Comment deleted"

    def __init__(self, comment_id: int, action: str) -> None:
        super().__init__(
            f"Comment {comment_id} was deleted; it cannot be {action}.",
            extensions={"comment_id": comment_id},
        )


class ThreadTooDeep(BadRequest):
    type_slug = "thread-too-deep"
    title = "Thread too deep"

    def __init__(self, parent_id: int, most: int) -> None:
        super().__init__(
            f"Replies nest at most {most} deep; reply to an earlier comment than {parent_id}.",
            extensions={"parent_id": parent_id, "max_depth": most},
        )


class RatingNotFound(NotFound):
    type_slug = "rating-not-found"
    title = "Rating not found"

    def __init__(self, owner: str, name: str, user: str) -> None:
        super().__init__(
            f"{user} has not rated {owner}/{name}.",
            extensions={"owner": owner, "name": name, "user": user},
        )


class OwnModelRating(Forbidden):
    type_slug = "own-model-rating"
    title = "You cannot rate your own model"

    def __init__(self, owner: str, name: str) -> None:
        super().__init__(
            f"{owner}/{name} is yours; ratings are what other people think of it.",
            extensions={"owner": owner, "name": name},
        )


class NotRatingAuthor(Forbidden):
    type_slug = "not-rating-author"
    title = "Not your rating"

    def __init__(self, user: str) -> None:
        super().__init__(
            f"Only {user} or an administrator may remove {user}'s rating.",
            extensions={"user": user},
        )


class InvalidPageCursor(BadRequest):
    type_slug = "invalid-cursor"
    title = "Invalid cursor"

    def __init__(self) -> None:
        super().__init__("The cursor is malformed; start again without one.")
