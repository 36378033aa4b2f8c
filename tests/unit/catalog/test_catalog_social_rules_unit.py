"""The pure rules of ratings and comments (modelbay_catalog.social.rules), case by case."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from modelbay_catalog.social.records import CommentRecord
from modelbay_catalog.social.rules import (
    MAX_THREAD_DEPTH,
    RatingTally,
    build_threads,
    may_delete,
    may_edit,
    may_moderate,
    may_read_hidden,
    reply_depth,
    tally_of,
)
from modelbay_common.access import Caller
from modelbay_common.contracts.social import CommentBody, RatingBody
from pydantic import ValidationError

AT = datetime(2026, 12, 6, tzinfo=UTC)
ALICE, BOB, ADMIN, ANONYMOUS = (
    Caller(user="alice"),
    Caller(user="bob"),
    Caller("root", None, True),
    Caller(),
)


def comment(
    comment_id: int,
    parent: CommentRecord | None = None,
    *,
    author: str = "alice",
    deleted: bool = False,
    hidden: bool = False,
) -> CommentRecord:
    return CommentRecord(
        id=comment_id,
        version=1,
        parent_id=None if parent is None else parent.id,
        root_id=None if parent is None else parent.thread_id,
        depth=0 if parent is None else parent.depth + 1,
        author=author,
        body=None if deleted else f"text {comment_id}",
        created_at=AT,
        edited_at=None,
        deleted_at=AT if deleted else None,
        deleted_by="alice" if deleted else None,
        hidden_at=AT if hidden else None,
        hidden_by="root" if hidden else None,
        hidden_reason="spam" if hidden else None,
    )


# -- the tally -------------------------------------------------------------------------------


def test_a_first_rating_an_edit_and_a_removal_move_the_tally() -> None:
    tally = RatingTally().changed(None, 4)
    assert (tally.count, tally.total, tally.histogram, tally.average) == (1, 4, (0, 0, 0, 1, 0), 4)

    tally = tally.changed(None, 1).changed(4, 5)  # another user, then the first one edits
    assert (tally.count, tally.total, tally.histogram) == (2, 6, (1, 0, 0, 0, 1))
    assert tally.average == 3.0

    tally = tally.changed(1, None)
    assert (tally.count, tally.total, tally.histogram, tally.average) == (1, 5, (0, 0, 0, 0, 1), 5)
    assert tally.changed(5, None) == RatingTally()


def test_no_ratings_average_to_none_not_zero() -> None:
    assert RatingTally().average is None
    assert RatingTally().histogram_by_star() == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}


def test_the_average_is_rounded_to_two_decimals() -> None:
    assert tally_of([5, 4, 4]).average == 4.33


def test_any_sequence_of_changes_equals_a_recount() -> None:
    chooser = random.Random(9)
    current: dict[str, int] = {}
    tally = RatingTally()
    for _ in range(500):
        user = chooser.choice("abcdefgh")
        after = chooser.choice([None, 1, 2, 3, 4, 5])
        tally = tally.changed(current.get(user), after)
        if after is None:
            current.pop(user, None)
        else:
            current[user] = after
        assert tally == tally_of(current.values())


@pytest.mark.parametrize("stars", [0, 6, -1])
def test_stars_outside_one_to_five_are_refused_by_the_tally(stars: int) -> None:
    with pytest.raises(ValueError, match="1 to 5"):
        RatingTally().changed(None, stars)


def test_removing_a_rating_the_tally_does_not_hold_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not hold"):
        RatingTally().changed(3, None)


# -- the bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"stars": 0},
        {"stars": 6},
        {"stars": 3, "review": ""},
        {"stars": 3, "review": "   "},
        {"stars": 3, "review": "x" * 5001},
        {"stars": 3, "version": 0},
        {"stars": 3, "unknown": 1},
    ],
)
def test_bad_rating_bodies_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RatingBody.model_validate(body)


def test_a_review_is_stripped_and_may_be_omitted() -> None:
    assert RatingBody.model_validate({"stars": 5, "review": "  great \n"}).review == "great"
    assert RatingBody.model_validate({"stars": 1}).review is None


@pytest.mark.parametrize("text", ["", " \t", "x" * 5001])
def test_empty_and_over_long_comments_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        CommentBody.model_validate({"body": text})


# -- who may change a comment ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "edit", "delete", "moderate", "read_hidden"),
    [
        (ALICE, True, True, False, True),  # the author
        (BOB, False, False, False, False),  # someone else
        (ADMIN, False, True, True, True),  # an administrator moderates, never rewrites
        (ANONYMOUS, False, False, False, False),
    ],
)
def test_who_may_change_a_comment(
    caller: Caller, edit: bool, delete: bool, moderate: bool, read_hidden: bool
) -> None:
    own = comment(1)
    assert may_edit(caller, own) is edit
    assert may_delete(caller, own) is delete
    assert may_moderate(caller) is moderate
    assert may_read_hidden(caller, own) is read_hidden


def test_replies_nest_at_most_max_depth() -> None:
    chain = [comment(1)]
    for comment_id in range(2, MAX_THREAD_DEPTH + 2):
        assert reply_depth(chain[-1]) == chain[-1].depth + 1
        chain.append(comment(comment_id, chain[-1]))
    assert chain[-1].depth == MAX_THREAD_DEPTH
    with pytest.raises(ValueError, match="nest at most"):
        reply_depth(chain[-1])
    assert reply_depth(None) == 0


# -- how threads are shown -------------------------------------------------------------------


def test_threads_nest_replies_oldest_first() -> None:
    root = comment(1)
    first, second = comment(2, root, author="bob"), comment(4, root)
    nested = comment(3, first)
    other = comment(5)
    threads = build_threads([other, nested, second, first, root], BOB)

    assert [node.comment.id for node in threads] == [1, 5]
    assert [reply.comment.id for reply in threads[0].replies] == [2, 4]
    assert [reply.comment.id for reply in threads[0].replies[0].replies] == [3]
    assert all(node.state == "visible" for node in threads)


def test_a_deleted_comment_with_replies_keeps_a_placeholder_and_without_disappears() -> None:
    root = comment(1, deleted=True)
    reply = comment(2, root, author="bob")
    lonely = comment(3, deleted=True)
    threads = build_threads([root, reply, lonely], BOB)

    assert [node.comment.id for node in threads] == [1]
    assert (threads[0].state, threads[0].body) == ("deleted", None)
    assert threads[0].replies[0].body == "text 2"


def test_a_deleted_chain_without_a_living_reply_disappears_entirely() -> None:
    root = comment(1, deleted=True)
    middle = comment(2, root, deleted=True)
    assert build_threads([root, middle, comment(3, middle, deleted=True)], ADMIN) == []


@pytest.mark.parametrize(
    ("viewer", "sees_text"), [(ALICE, True), (ADMIN, True), (BOB, False), (ANONYMOUS, False)]
)
def test_a_hidden_comment_keeps_its_place_and_its_text_only_for_author_and_admins(
    viewer: Caller, sees_text: bool
) -> None:
    hidden = comment(1, hidden=True)
    [node] = build_threads([hidden, comment(2, hidden, author="bob")], viewer)
    assert node.state == "hidden"
    assert (node.body == "text 1") is sees_text
    assert len(node.replies) == 1


def test_every_viewer_sees_the_same_shape_of_visible_threads() -> None:
    root = comment(1)
    comments = [root, comment(2, root, author="bob"), comment(3)]
    shapes = {
        tuple((node.comment.id, len(node.replies)) for node in build_threads(comments, viewer))
        for viewer in (ALICE, BOB, ADMIN, ANONYMOUS)
    }
    assert shapes == {((1, 1), (3, 0))}
