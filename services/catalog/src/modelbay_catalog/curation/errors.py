"""Errors of aliases and publish requests, rendered as RFC 9457 problem+json.

A model the caller may not see is `ModelNotFound` before any of these can happen, so a 403
here always means the model (or, for a publisher, the request) is visible.
"""

from __future__ import annotations

from modelbay_common.contracts.curation import ALIAS_PATTERN, LATEST_ALIAS
from modelbay_common.errors import BadRequest, Conflict, Forbidden, NotFound


class InvalidAliasName(BadRequest):
    type_slug = "invalid-alias-name"
    title = "Invalid alias name"

    def __init__(self, alias: str) -> None:
        super().__init__(
            f"{alias!r} is not an alias name: use 1 to 40 lower-case letters, digits and . _ - "
            f"starting with a letter (pattern {ALIAS_PATTERN}).",
            extensions={"alias": alias},
        )


class AliasIsAutomatic(BadRequest):
    type_slug = "alias-is-automatic"
    title = "Alias is automatic"

    def __init__(self) -> None:
        super().__init__(
            f"'{LATEST_ALIAS}' always names the newest ready version; it cannot be set or removed.",
            extensions={"alias": LATEST_ALIAS},
        )


class AliasNotFound(NotFound):
    type_slug = "alias-not-found"
    title = "Alias not found"

    def __init__(self, owner: str, name: str, alias: str) -> None:
        detail = (
            f"Model {owner}/{name} has no ready version yet, so '{LATEST_ALIAS}' names nothing."
            if alias == LATEST_ALIAS
            else f"Model {owner}/{name} has no alias {alias!r}."
        )
        super().__init__(detail, extensions={"owner": owner, "name": name, "alias": alias})


class MaintainerRequired(Forbidden):
    """The caller sees the model but is not one who changes it."""

    type_slug = "maintainer-required"
    title = "Maintainer required"

    def __init__(self, owner: str, name: str, action: str) -> None:
        super().__init__(
            f"Only {owner}, the owners and maintainers of organisation {owner} (if it is one) or "
            f"an administrator may {action} of {owner}/{name}.",
            extensions={"owner": owner, "name": name},
        )


class PublishRequestNotFound(NotFound):
    type_slug = "publish-request-not-found"
    title = "Publish request not found"

    def __init__(self, request_id: int) -> None:
        super().__init__(
            f"There is no publish request {request_id}, or you may not see it.",
            extensions={"request_id": request_id},
        )


class PublisherRequired(Forbidden):
    type_slug = "publisher-required"
    title = "Publisher required"

    def __init__(self, request_id: int) -> None:
        super().__init__(
            f"Only a publisher or an administrator may decide publish request {request_id}.",
            extensions={"request_id": request_id},
        )


class OwnPublicationRefused(Forbidden):
    """Nobody approves (or declines) their own model or a publication they asked for."""

    type_slug = "own-publication"
    title = "Cannot decide your own publication"

    def __init__(self, request_id: int, owner: str, name: str) -> None:
        super().__init__(
            f"Publish request {request_id} is for {owner}/{name}, which is yours (or you asked "
            "for it); another publisher must decide it.",
            extensions={"request_id": request_id, "owner": owner, "name": name},
        )


class PublishRequestDecided(Conflict):
    type_slug = "publish-request-decided"
    title = "Publish request already decided"

    def __init__(self, request_id: int, status: str) -> None:
        super().__init__(
            f"Publish request {request_id} was already {status}.",
            extensions={"request_id": request_id, "request_status": status},
        )


class PublishRequestPending(Conflict):
    type_slug = "publish-request-pending"
    title = "Publish request pending"

    def __init__(self, owner: str, name: str, request_id: int) -> None:
        super().__init__(
            f"{owner}/{name} already waits for approval (request {request_id}); wait for the "
            "decision before asking again.",
            extensions={"owner": owner, "name": name, "request_id": request_id},
        )


class CommentRequired(BadRequest):
    type_slug = "comment-required"
    title = "Comment required"

    def __init__(self, request_id: int) -> None:
        super().__init__(
            f"Declining publish request {request_id} needs a comment that tells the owner why.",
            extensions={"request_id": request_id},
        )


class InvalidRequestFilter(BadRequest):
    """`name` filters one model of a namespace: without `owner` it names nothing."""

    type_slug = "invalid-filter"
    title = "Invalid filter"

    def __init__(self, detail: str, parameter: str) -> None:
        super().__init__(detail, extensions={"parameter": parameter})
