"""Bearer tokens already resolved to their caller, kept in memory for a few seconds.

Resolving a token is a database round trip (token, user and memberships in one query) inside a
transaction: about 1 ms of the gateway's CPU and a pooled connection on every `/v1` request and
every page (docs/benchmarks.md, "Gateway CPU per request"). A caller's requests come in bursts
(a page and its fragments, a client paging through a search), so the resolved caller is kept for
`AUTH_CACHE_SECONDS` (default 5), keyed by the token's SHA-256, at most `AUTH_CACHE_ENTRIES`
of them (the least recently used go first).

What must not wait for the entry to expire: a change made through this process to a token, a
user or a membership (revocation, sign-out, an expired web session, admin or publisher right, an
organisation role). Every store method that makes such a change calls `principals_changed`; the
user's entries are dropped at once and again when the transaction commits (a request that read
the old rows before the commit cannot put them back: entries are only stored when no change
happened while they were read, `generation`). A change made by another gateway process reaches
this one when the entry expires: that is the bound on staleness across replicas
(docs/security.md, "Tokens").
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelbay_common.db import SessionFactory
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from modelbay_gateway.records import Principal

_CACHE_KEY = "modelbay_gateway.principal_cache"
_CHANGED_KEY = "modelbay_gateway.principals_changed"


@dataclass(frozen=True)
class ResolvedToken:
    """An active token's caller, and what the web UI checks about the token itself."""

    principal: Principal
    token_name: str
    token_created_at: datetime


class PrincipalCache:
    """Token SHA-256 → `ResolvedToken` for `seconds` (0: nothing is kept), LRU-bounded."""

    def __init__(
        self, seconds: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seconds = seconds
        self._max_entries = max_entries
        self.clock = clock  # monotonic seconds; tests move it to expire entries
        self._entries: OrderedDict[str, tuple[float, ResolvedToken]] = OrderedDict()
        self._generation = 0

    @property
    def generation(self) -> int:
        """Changes whenever an entry is invalidated; read it before resolving from the database."""
        return self._generation

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token_sha256: str) -> ResolvedToken | None:
        found = self._entries.get(token_sha256)
        if found is None:
            return None
        expires_at, resolved = found
        if self.clock() >= expires_at:
            del self._entries[token_sha256]
            return None
        self._entries.move_to_end(token_sha256)
        return resolved

    def put(self, token_sha256: str, resolved: ResolvedToken, generation: int) -> None:
        """Keep `resolved`, unless something was invalidated since `generation` was read (the
        rows it came from may predate that change)."""
        if self._seconds <= 0 or generation != self._generation:
            return
        self._entries[token_sha256] = (self.clock() + self._seconds, resolved)
        self._entries.move_to_end(token_sha256)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def forget_users(self, user_ids: Iterable[uuid.UUID]) -> None:
        """Drop every token of these users (a user has few; the scan runs only on a change)."""
        users = set(user_ids)
        self._generation += 1
        stale = [
            digest
            for digest, (_, resolved) in self._entries.items()
            if resolved.principal.user.id in users
        ]
        for digest in stale:
            del self._entries[digest]


def attach(sessions: SessionFactory, cache: PrincipalCache) -> None:
    """Every session of `sessions` carries `cache`, so the stores can invalidate it."""
    sessions.configure(info={**sessions.kw.get("info", {}), _CACHE_KEY: cache})
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def principals_changed(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A store changed what `user_id`'s tokens resolve to (called before the flush)."""
    info = session.info
    info.setdefault(_CHANGED_KEY, set()).add(user_id)
    cache = info.get(_CACHE_KEY)
    if isinstance(cache, PrincipalCache):
        cache.forget_users((user_id,))


def _after_commit(session: Session) -> None:
    changed: set[uuid.UUID] | None = session.info.pop(_CHANGED_KEY, None)
    cache: Any = session.info.get(_CACHE_KEY)
    if changed and isinstance(cache, PrincipalCache):
        cache.forget_users(changed)


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED_KEY, None)
