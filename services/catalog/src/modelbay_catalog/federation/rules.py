"""The rules of federation (pure: no I/O): peer names, subscriptions, back-off, local names.

- A peer's name is a namespace segment (lower-case letters and digits, single `-` between them,
  at most 40 characters, no dot): it appears in the local owner of a mirrored model whose name
  clashes, which must still pass the owner/name validation (`[a-z0-9]+([._-][a-z0-9]+)*`).
- A subscription matches a public model of the peer when it subscribes to everything, or names
  the model's owner, its category or one of its tags. An empty subscription matches nothing.
- After `n` consecutive failures the next attempt waits `base * 2**(n-1)` seconds, at most
  `ceiling`, times a random factor in [0.5, 1.0] ("equal jitter"), so that peers which failed
  together do not retry together.
- A mirrored model keeps its origin's `owner/name` on this instance unless a local model (or a
  mirror of another peer) already has it; then its owner becomes `<peer>.<owner>` (a valid
  owner; docs/federation.md, "Name clashes").
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

PEER_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_PEER_NAME = 40


class MirrorState(StrEnum):
    REQUESTED = "requested"
    READY = "ready"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"


class ChangeAction(StrEnum):
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


def check_peer_name(name: str) -> str:
    """The name, or ValueError saying what a peer name is."""
    if len(name) > MAX_PEER_NAME or not PEER_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a peer name: use 1 to {MAX_PEER_NAME} lower-case letters and "
            "digits, with single '-' between them"
        )
    return name


def check_peer_url(url: str) -> str:
    """The peer's gateway base URL without a trailing slash, or ValueError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL of a Modelbay gateway")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r} must not carry a query or a fragment")
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class Subscription:
    all: bool = False
    owners: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.all or self.owners or self.categories or self.tags)

    def matches(self, owner: str, category: str | None, tags: Iterable[str]) -> bool:
        if self.all or owner in self.owners:
            return True
        if category is not None and category in self.categories:
            return True
        return any(tag in self.tags for tag in tags)


def backoff_seconds(
    failures: int,
    *,
    base: float,
    ceiling: float,
    jitter: Callable[[], float] = random.random,
) -> float:
    """How long to wait after `failures` consecutive failures (>= 1), jittered."""
    exponent = min(max(failures, 1) - 1, 30)  # 2**30 already exceeds any ceiling
    full = min(ceiling, base * float(2**exponent))
    return float(full * (0.5 + 0.5 * jitter()))


def next_attempt(now: datetime, failures: int, *, base: float, ceiling: float) -> datetime:
    return now + timedelta(seconds=backoff_seconds(failures, base=base, ceiling=ceiling))


def namespaced_owner(peer: str, origin_owner: str) -> str:
    """The local owner of a mirrored model whose `owner/name` is taken here."""
    return f"{peer}.{origin_owner}"
