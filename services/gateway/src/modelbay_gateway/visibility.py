"""Who may see a model's events: the shared access rule, with a short-lived cache.

The rule is `modelbay_common.access.can_see`, the same one the catalog applies: administrators
and the owner always, everyone for `public`, members of the owner's organisation for `org`. The
SSE filter asks the catalog for a model's owner, organisation and visibility once per model
and trusts the answer for a few seconds, so a burst of events costs one call.
When the catalog does not know the model yet (its `ModelUploaded` is still on its way) or cannot
be asked, the event is treated as private to its owner: a delay for others, never a leak.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from modelbay_common.access import ModelAccess, Visibility

log = logging.getLogger(__name__)

AccessLookup = Callable[[str, str], Awaitable[ModelAccess | None]]


class VisibilityCache:
    def __init__(
        self,
        lookup: AccessLookup,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, ModelAccess]] = {}

    async def access(self, owner: str, name: str, *, owner_org: str | None = None) -> ModelAccess:
        key = (owner, name)
        cached = self._entries.get(key)
        if cached is not None and self._clock() < cached[0]:
            return cached[1]
        try:
            found = await self._lookup(owner, name)
        except Exception as exc:  # the stream must go on; restrict instead of failing
            log.warning(
                "visibility of %s/%s unknown (%s); treating it as private", owner, name, exc
            )
            return ModelAccess(owner, owner_org, Visibility.PRIVATE)
        if found is None:
            # Not cached: the catalog will know the model in a moment.
            return ModelAccess(owner, owner_org, Visibility.PRIVATE)
        self.remember(owner, name, found)
        return found

    def remember(self, owner: str, name: str, access: ModelAccess) -> None:
        self._entries[(owner, name)] = (self._clock() + self._ttl, access)
