"""Errors of federation, rendered as RFC 9457 problem+json (docs/federation.md)."""

from __future__ import annotations

from typing import ClassVar

from modelbay_common.errors import BadRequest, Conflict, Forbidden, ModelbayError, NotFound


class AdminRequired(Forbidden):
    type_slug = "admin-required"
    title = "Administrator required"

    def __init__(self, action: str) -> None:
        super().__init__(f"Only an administrator may {action}.")


class PeerNotFound(NotFound):
    type_slug = "peer-not-found"
    title = "Peer not found"

    def __init__(self, peer: str) -> None:
        super().__init__(
            f"This instance has no peer named {peer!r} (see GET /v1/admin/peers).",
            extensions={"peer": peer},
        )


class PeerExists(Conflict):
    type_slug = "peer-exists"
    title = "Peer exists"

    def __init__(self, peer: str) -> None:
        super().__init__(
            f"A peer named {peer!r} is already registered; update it or remove it first.",
            extensions={"peer": peer},
        )


class InvalidPeer(BadRequest):
    type_slug = "invalid-peer"
    title = "Invalid peer"

    def __init__(self, why: str) -> None:
        super().__init__(why)


class PeerUnreachable(ModelbayError):
    """The peer did not answer as a Modelbay gateway (424: the request depended on it)."""

    status: ClassVar[int] = 424
    type_slug = "peer-unreachable"
    title = "Peer unreachable"

    def __init__(self, peer: str, url: str, why: str) -> None:
        super().__init__(
            f"Peer {peer!r} at {url} could not be read: {why}",
            extensions={"peer": peer, "url": url},
        )


class InvalidCursor(BadRequest):
    type_slug = "invalid-federation-cursor"
    title = "Invalid cursor"

    def __init__(self, cursor: str) -> None:
        super().__init__(
            f"{cursor!r} is not a cursor of this changes feed: pass 0 or a `next_cursor` it gave.",
            extensions={"cursor": cursor},
        )


class ModelIsMirrored(Conflict):
    """A change to a model that is a read-only copy of a peer's model."""

    type_slug = "model-is-mirrored"
    title = "Model is mirrored"

    def __init__(self, owner: str, name: str, peer: str, origin: str) -> None:
        super().__init__(
            f"{owner}/{name} is mirrored from peer {peer!r} ({origin}); it is read-only here: "
            "change it on its origin.",
            extensions={"owner": owner, "name": name, "peer": peer, "origin": origin},
        )
