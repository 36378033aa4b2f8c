"""Use cases of comments on a version: post, reply, edit, delete, moderate, read threads.

The order of checks is the no-leak order: the model as the caller (404 if invisible, exactly
like a missing one), the version (404), the comment within that version (404), and only then
who may change it (403).
"""

from __future__ import annotations

from dataclasses import dataclass

from modelbay_common.access import Caller
from modelbay_common.events import CommentDeleted, CommentEdited, CommentHidden, CommentPosted

from modelbay_catalog.records import ModelRecord, StoredVersion
from modelbay_catalog.service import emit, visible_version
from modelbay_catalog.social import errors
from modelbay_catalog.social.records import CommentNode, CommentRecord
from modelbay_catalog.social.rules import (
    MAX_THREAD_DEPTH,
    build_threads,
    may_delete,
    may_edit,
    may_moderate,
    reply_depth,
)
from modelbay_catalog.social.service import Stores, signed_in_user


@dataclass(frozen=True)
class CommentTarget:
    """Where a comment lives: the model and version the caller may see."""

    model: ModelRecord
    version: StoredVersion

    @property
    def number(self) -> int:
        return self.version.state.version


async def _target(
    stores: Stores, caller: Caller, owner: str, name: str, version: int
) -> CommentTarget:
    model, found = await visible_version(stores.catalog, caller, owner, name, version)
    return CommentTarget(model, found)


async def _comment(
    stores: Stores, target: CommentTarget, comment_id: int, *, lock: bool = False
) -> CommentRecord:
    found = await stores.social.find_comment(
        target.version.id, target.number, comment_id, lock=lock
    )
    if found is None:
        model = target.model
        raise errors.CommentNotFound(model.owner, model.name, target.number, comment_id)
    return found


async def post_comment(
    stores: Stores,
    caller: Caller,
    owner: str,
    name: str,
    version: int,
    body: str,
    parent_id: int | None,
) -> CommentRecord:
    author = signed_in_user(caller)
    target = await _target(stores, caller, owner, name, version)
    parent = None
    if parent_id is not None:
        parent = await _comment(stores, target, parent_id)
        if parent.deleted:
            raise errors.CommentDeleted(parent_id, "replied to")
    try:
        depth = reply_depth(parent)
    except ValueError:
        assert parent is not None  # a top-level comment is never too deep
        raise errors.ThreadTooDeep(parent.id, MAX_THREAD_DEPTH) from None
    comment = await stores.social.add_comment(
        target.model.id, target.version.id, target.number, author, body, parent, depth
    )
    await emit(
        stores.catalog.session,
        CommentPosted(
            owner=target.model.owner,
            name=target.model.name,
            version=target.number,
            comment_id=comment.id,
            parent_id=comment.parent_id,
            author=author,
            body=body,
        ),
    )
    return comment


async def edit_comment(
    stores: Stores, caller: Caller, owner: str, name: str, version: int, comment_id: int, body: str
) -> CommentRecord:
    signed_in_user(caller)
    target = await _target(stores, caller, owner, name, version)
    comment = await _comment(stores, target, comment_id, lock=True)
    if not may_edit(caller, comment):
        raise errors.NotCommentAuthor(comment_id, "edit")
    if comment.deleted:
        raise errors.CommentDeleted(comment_id, "edited")
    if comment.body == body:
        return comment  # nothing changed: no `edited_at`, no event
    await stores.social.edit_comment(comment_id, body)
    await emit(
        stores.catalog.session,
        CommentEdited(
            owner=target.model.owner,
            name=target.model.name,
            version=target.number,
            comment_id=comment_id,
            author=comment.author,
            body=body,
        ),
    )
    return await _comment(stores, target, comment_id)


async def delete_comment(
    stores: Stores, caller: Caller, owner: str, name: str, version: int, comment_id: int
) -> None:
    """Delete a comment (its author, or an administrator); deleting twice changes nothing."""
    remover = signed_in_user(caller)
    target = await _target(stores, caller, owner, name, version)
    comment = await _comment(stores, target, comment_id, lock=True)
    if not may_delete(caller, comment):
        raise errors.NotCommentAuthor(comment_id, "delete")
    if comment.deleted:
        return
    await stores.social.delete_comment(comment_id, remover)
    await emit(
        stores.catalog.session,
        CommentDeleted(
            owner=target.model.owner,
            name=target.model.name,
            version=target.number,
            comment_id=comment_id,
            author=comment.author,
            deleted_by=remover,
        ),
    )


async def moderate_comment(
    stores: Stores,
    caller: Caller,
    owner: str,
    name: str,
    version: int,
    comment_id: int,
    *,
    hidden: bool,
    reason: str | None,
) -> CommentRecord:
    """Hide a comment or show it again (administrators); an event only when it changes."""
    moderator = signed_in_user(caller)
    target = await _target(stores, caller, owner, name, version)
    comment = await _comment(stores, target, comment_id, lock=True)
    if not may_moderate(caller):
        raise errors.ModeratorRequired()
    if comment.deleted:
        raise errors.CommentDeleted(comment_id, "hidden or shown")
    if comment.hidden != hidden or (hidden and comment.hidden_reason != reason):
        await stores.social.moderate_comment(comment_id, hidden, moderator, reason)
        await emit(
            stores.catalog.session,
            CommentHidden(
                owner=target.model.owner,
                name=target.model.name,
                version=target.number,
                comment_id=comment_id,
                author=comment.author,
                hidden=hidden,
                moderator=moderator,
                reason=reason if hidden else None,
            ),
        )
    return await _comment(stores, target, comment_id)


@dataclass(frozen=True)
class ThreadsPage:
    threads: list[CommentNode]
    next_after: int | None
    total: int


async def comment_threads(
    stores: Stores,
    caller: Caller,
    owner: str,
    name: str,
    version: int,
    after_id: int | None,
    limit: int,
) -> ThreadsPage:
    """A page of threads as `caller` sees them (deleted ones without replies left out)."""
    target = await _target(stores, caller, owner, name, version)
    comments, root_ids = await stores.social.thread_page(
        target.version.id, target.number, after_id, limit + 1
    )
    more = len(root_ids) > limit
    if more:
        kept = set(root_ids[:limit])
        comments = [comment for comment in comments if comment.thread_id in kept]
    return ThreadsPage(
        threads=build_threads(comments, caller),
        next_after=root_ids[limit - 1] if more else None,
        total=await stores.social.count_comments(target.version.id),
    )
