"""The pure rules of ratings and comments (no I/O); their tests enumerate the cases.

Invariants:
- A model's tally equals what counting its rating rows would give: `count` ratings, `total`
  stars, and `histogram[s - 1]` ratings of `s` stars. Every change of a rating is one
  `RatingTally.changed(before, after)` applied under the model's row lock, so a tally never
  drifts from the rows (tests compare it with a recount after edits and removals).
- Only a comment's author edits it; its author or an administrator deletes it; only an
  administrator hides it or shows it again. Nobody changes a comment that is deleted.
- A deleted comment is shown (as a placeholder, without its text) only while a reply below it
  is shown; a hidden comment keeps its place with its text visible to its author and to
  administrators only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from modelbay_common.access import Caller
from modelbay_common.contracts.social import MAX_STARS, MIN_STARS

from modelbay_catalog.social.records import CommentNode, CommentRecord

MAX_THREAD_DEPTH = 8
"""Replies nest at most this deep below a top-level comment (depth 0), so a thread stays
readable on a phone; deeper replies are refused, not flattened, so nobody is misquoted."""

STAR_VALUES = range(MIN_STARS, MAX_STARS + 1)


@dataclass(frozen=True)
class RatingTally:
    """How many ratings a model has, their sum, and how many of each star value."""

    count: int = 0
    total: int = 0
    histogram: tuple[int, ...] = (0,) * len(STAR_VALUES)

    def changed(self, before: int | None, after: int | None) -> RatingTally:
        """The tally once one user's rating goes from `before` to `after` stars (None: no
        rating): a first rating, an edit, or a removal."""
        histogram = list(self.histogram)
        count, total = self.count, self.total
        if before is not None:
            _check_stars(before)
            histogram[before - MIN_STARS] -= 1
            count, total = count - 1, total - before
        if after is not None:
            _check_stars(after)
            histogram[after - MIN_STARS] += 1
            count, total = count + 1, total + after
        if count < 0 or min(histogram) < 0:
            raise ValueError(f"removing a {before}-star rating the tally {self} does not hold")
        return RatingTally(count=count, total=total, histogram=tuple(histogram))

    @property
    def average(self) -> float | None:
        """The mean, rounded to 2 decimals; None without ratings (not 0: nobody said 0)."""
        return round(self.total / self.count, 2) if self.count else None

    def histogram_by_star(self) -> dict[str, int]:
        return {str(stars): self.histogram[stars - MIN_STARS] for stars in STAR_VALUES}


def _check_stars(stars: int) -> None:
    if stars not in STAR_VALUES:
        raise ValueError(f"a rating is {MIN_STARS} to {MAX_STARS} stars, not {stars}")


def tally_of(stars: Iterable[int]) -> RatingTally:
    """The tally of a set of ratings, counted from scratch (what the kept tally must equal)."""
    tally = RatingTally()
    for value in stars:
        tally = tally.changed(None, value)
    return tally


def may_edit(caller: Caller, comment: CommentRecord) -> bool:
    return caller.user is not None and caller.user == comment.author


def may_delete(caller: Caller, comment: CommentRecord) -> bool:
    return caller.admin or may_edit(caller, comment)


def may_moderate(caller: Caller) -> bool:
    return caller.admin


def may_read_hidden(caller: Caller, comment: CommentRecord) -> bool:
    return caller.admin or may_edit(caller, comment)


def reply_depth(parent: CommentRecord | None) -> int:
    """The depth of a new comment under `parent`; ValueError past MAX_THREAD_DEPTH."""
    depth = 0 if parent is None else parent.depth + 1
    if depth > MAX_THREAD_DEPTH:
        raise ValueError(f"replies nest at most {MAX_THREAD_DEPTH} deep")
    return depth


def build_threads(comments: Sequence[CommentRecord], viewer: Caller) -> list[CommentNode]:
    """The threads `viewer` sees, top-level comments and replies each oldest first.

    `comments` are whole threads (every comment whose thread is in the page). A comment whose
    parent is missing from `comments` is not shown: it cannot be placed.
    """
    children: dict[int | None, list[CommentRecord]] = {}
    for comment in sorted(comments, key=lambda found: found.id):
        children.setdefault(comment.parent_id, []).append(comment)

    def node(comment: CommentRecord) -> CommentNode | None:
        replies = tuple(
            shown for child in children.get(comment.id, []) if (shown := node(child)) is not None
        )
        if comment.deleted:
            if not replies:
                return None  # nothing hangs from it: it simply disappears
            return CommentNode(comment, body=None, state="deleted", replies=replies)
        if comment.hidden:
            body = comment.body if may_read_hidden(viewer, comment) else None
            return CommentNode(comment, body=body, state="hidden", replies=replies)
        return CommentNode(comment, body=comment.body, state="visible", replies=replies)

    return [shown for root in children.get(None, []) if (shown := node(root)) is not None]
