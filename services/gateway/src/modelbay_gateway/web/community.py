"""What the model page shows of its community: ratings, reviews, favourites, views, comments.

Read through `service_community`, the functions behind `/v1/models/.../ratings|comments|...`,
as the visitor, so the catalog's rules (visibility, hidden comments, who sees which text) hold
on the page exactly as in the API.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from modelbay_common.access import Caller
from modelbay_common.contracts.social import CommentPage

from modelbay_gateway import service_community
from modelbay_gateway.upstream import Upstreams

log = logging.getLogger(__name__)

RATINGS_SHOWN = 10
COMMENT_THREADS_SHOWN = 50
STARS = (5, 4, 3, 2, 1)


async def community_values(
    upstreams: Upstreams,
    caller: Caller,
    owner: str,
    name: str,
    version: int | None,
    count_view: bool,
) -> dict[str, Any]:
    # All at once: the page waits for the slowest call, not for their sum.
    stats, ratings, comments, _ = await asyncio.gather(
        service_community.model_stats(upstreams, caller, owner, name),
        service_community.list_ratings(upstreams, caller, owner, name, limit=RATINGS_SHOWN),
        _comments(upstreams, caller, owner, name, version),
        _count_view(upstreams, caller, owner, name, version) if count_view else _nothing(),
    )
    return {
        "stats": stats.model_dump(mode="json"),
        "ratings": ratings.model_dump(mode="json"),
        "comments": None if comments is None else comments.model_dump(mode="json"),
        "star_levels": STARS,
    }


async def _comments(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int | None
) -> CommentPage | None:
    if version is None:
        return None
    return await service_community.list_comments(
        upstreams, caller, owner, name, version, limit=COMMENT_THREADS_SHOWN
    )


async def _count_view(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int | None
) -> None:
    # A page view is a counter, not a result the visitor waits for: a failure is logged.
    try:
        await service_community.record_view(upstreams, caller, owner, name, version)
    except Exception as exc:
        log.warning("view of %s/%s not counted: %s", owner, name, exc)


async def _nothing() -> None:
    return None
