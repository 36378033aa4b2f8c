"""Use cases that read the catalog: search, a model with its versions, visibility."""

from __future__ import annotations

from dataclasses import dataclass

from modelbay_common.access import Caller

from modelbay_catalog.cursor import SortKey, decode_cursor, encode_cursor, search_fingerprint
from modelbay_catalog.errors import ModelNotFound
from modelbay_catalog.records import (
    Facets,
    ModelRecord,
    SearchCriteria,
    SearchHit,
    VersionLine,
)
from modelbay_catalog.service import may_see
from modelbay_catalog.store import CatalogStore
from modelbay_catalog.store_pages import ModelPageStore
from modelbay_catalog.store_search import SearchStore
from modelbay_catalog.store_solutions import SolutionStore


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None
    facets: Facets | None


async def search_models(
    store: SearchStore,
    caller: Caller,
    criteria: SearchCriteria,
    limit: int,
    cursor: str | None,
    *,
    with_facets: bool = False,
) -> SearchPage:
    """One page of the models `caller` may see; `next_cursor` is None on the last page."""
    # The caller is part of the fingerprint: a cursor only continues its own user's search.
    fingerprint = search_fingerprint(
        {**criteria.as_dict(), "user": caller.user, "org": caller.org, "admin": caller.admin}
    )
    after = decode_cursor(cursor, fingerprint) if cursor else None
    match = await store.text_match(criteria.q) if criteria.q else None
    # One row more than asked tells whether another page exists without a count query.
    hits = await store.search(criteria, caller, match, after, limit + 1)
    facets = await store.facets(criteria, caller, match) if with_facets else None
    if len(hits) <= limit:
        return SearchPage(hits=hits, next_cursor=None, facets=facets)
    last = hits[limit - 1]
    key = SortKey(value=last.sort_value, model_id=last.model.id)
    return SearchPage(hits=hits[:limit], next_cursor=encode_cursor(key, fingerprint), facets=facets)


@dataclass(frozen=True)
class ModelWithVersions:
    model: ModelRecord
    versions: list[VersionLine]
    mirrored: bool  # the page also shows where the model comes from (federation/origins.py)


async def model_with_versions(
    store: ModelPageStore, caller: Caller, owner: str, name: str
) -> ModelWithVersions:
    """The model page's model and versions, if `caller` may see it; otherwise ModelNotFound,
    exactly as if it were missing."""
    found = await store.find_model(owner, name)
    if found is None or not await may_see(store.session, caller, found.model):
        raise ModelNotFound(owner, name)
    versions = await store.version_lines(found.model.id)
    return ModelWithVersions(model=found.model, versions=versions, mirrored=found.mirrored)


async def model_for_event_filter(store: CatalogStore, owner: str, name: str) -> ModelRecord:
    """Who may see events of a model, for the gateway's SSE filter (no caller: it is the
    gateway that decides per subscriber, with the same rules as modelbay_common.access.can_see).
    A deleted model is found too: its `ModelDeleted` goes to those who could see it."""
    model = await SolutionStore(store.session).find_model_even_deleted(owner, name)
    if model is None:
        raise ModelNotFound(owner, name)
    return model
