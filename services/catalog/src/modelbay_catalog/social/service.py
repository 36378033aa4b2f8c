"""Use cases of ratings, favourites and views; comments are in comments.py.

Every use case first finds the model as the caller (`visible_model`): a model the caller may
not see is a 404 exactly like a missing one, before anything else is checked. Every change of
state emits its event into the outbox of the same transaction; views are counters, not events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from modelbay_common.access import Caller
from modelbay_common.events import (
    ModelFavourited,
    ModelRated,
    ModelRatingRemoved,
    ModelUnfavourited,
)

from modelbay_catalog.errors import CallerRequired, VersionNotFound
from modelbay_catalog.records import ModelRecord
from modelbay_catalog.service import emit, visible_model
from modelbay_catalog.social.errors import NotRatingAuthor, OwnModelRating, RatingNotFound
from modelbay_catalog.social.records import Counters, RatingRecord
from modelbay_catalog.social.rules import RatingTally, tally_of
from modelbay_catalog.social.store import SocialStore
from modelbay_catalog.store import CatalogStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stores:
    """The two stores of one unit of work (one session)."""

    catalog: CatalogStore
    social: SocialStore


def signed_in_user(caller: Caller) -> str:
    if caller.user is None:
        raise CallerRequired()
    return caller.user


async def _moved_tally(
    stores: Stores, model: ModelRecord, tally: RatingTally, before: int | None, after: int | None
) -> RatingTally:
    """The tally once one rating went from `before` to `after` (the row already changed).

    A tally that cannot hold the change (counters written around the use cases, e.g. by a
    seeder) is recounted from the rows instead: the model row is locked, so the count is exact.
    """
    try:
        return tally.changed(before, after)
    except ValueError:
        log.warning(
            "the rating summary of %s/%s disagreed with its rows; recounted",
            model.owner,
            model.name,
        )
        return tally_of(await stores.social.recount_stars(model.id))


def tally_of_counters(counters: Counters) -> RatingTally:
    return RatingTally(
        count=counters.rating_count,
        total=counters.rating_total,
        histogram=counters.rating_histogram,
    )


@dataclass(frozen=True)
class ModelStatsView:
    model: ModelRecord
    counters: Counters
    my_rating: RatingRecord | None
    favourited: bool
    versions: list[tuple[int, int, int]]  # (version, views, downloads)


async def model_stats(stores: Stores, caller: Caller, owner: str, name: str) -> ModelStatsView:
    model = await visible_model(stores.catalog, caller, owner, name)
    mine = None
    if caller.user is not None:
        mine = await stores.social.find_rating(model.id, caller.user)
    return ModelStatsView(
        model=model,
        counters=await stores.social.counters(model.id),
        my_rating=mine,
        favourited=await stores.social.is_favourite(model.id, caller.user),
        versions=await stores.social.version_counts(model.id),
    )


@dataclass(frozen=True)
class RatingChange:
    rating: RatingRecord
    created: bool
    tally: RatingTally


async def rate_model(
    stores: Stores,
    caller: Caller,
    owner: str,
    name: str,
    *,
    stars: int,
    review: str | None,
    version: int | None,
) -> RatingChange:
    """The caller's rating, created or replaced (a PUT: an omitted review removes the earlier
    one); the tally moves in the same transaction. Sending the same rating again changes
    nothing and sends no event."""
    user = signed_in_user(caller)
    model = await visible_model(stores.catalog, caller, owner, name)
    if user == model.owner:
        raise OwnModelRating(owner, name)
    if version is None:
        version = await stores.social.newest_version(model.id)
    elif await stores.catalog.find_version(model.id, version) is None:
        raise VersionNotFound(owner, name, version)
    # The lock first: two ratings of one model (even by one user) are applied one at a time.
    tally = tally_of_counters(await stores.social.counters(model.id, lock=True))
    before = await stores.social.find_rating(model.id, user)
    if before is not None and (before.stars, before.review, before.version) == (
        stars,
        review,
        version,
    ):
        return RatingChange(rating=before, created=False, tally=tally)  # a repeat: no event
    rating = await stores.social.save_rating(model.id, user, stars, review, version)
    tally = await _moved_tally(
        stores, model, tally, None if before is None else before.stars, stars
    )
    await stores.social.save_tally(model.id, tally)
    await emit(
        stores.catalog.session,
        ModelRated(
            owner=model.owner,
            name=model.name,
            version=version,
            rated_by=user,
            stars=stars,
            previous_stars=None if before is None else before.stars,
            review=review,
            rating_count=tally.count,
            rating_average=tally.average,
        ),
    )
    return RatingChange(rating=rating, created=before is None, tally=tally)


async def find_rating(
    stores: Stores, caller: Caller, owner: str, name: str, user: str
) -> RatingRecord:
    model = await visible_model(stores.catalog, caller, owner, name)
    found = await stores.social.find_rating(model.id, user)
    if found is None:
        raise RatingNotFound(owner, name, user)
    return found


async def remove_rating(
    stores: Stores, caller: Caller, owner: str, name: str, user: str
) -> RatingTally:
    """Remove `user`'s rating (the user themself, or an administrator moderating)."""
    remover = signed_in_user(caller)
    model = await visible_model(stores.catalog, caller, owner, name)
    if remover != user and not caller.admin:
        raise NotRatingAuthor(user)
    tally = tally_of_counters(await stores.social.counters(model.id, lock=True))
    found = await stores.social.find_rating(model.id, user)
    if found is None:
        raise RatingNotFound(owner, name, user)
    await stores.social.delete_rating(model.id, user)
    tally = await _moved_tally(stores, model, tally, found.stars, None)
    await stores.social.save_tally(model.id, tally)
    await emit(
        stores.catalog.session,
        ModelRatingRemoved(
            owner=model.owner,
            name=model.name,
            version=found.version or await stores.social.newest_version(model.id),
            rated_by=user,
            stars=found.stars,
            removed_by=remover,
            rating_count=tally.count,
            rating_average=tally.average,
        ),
    )
    return tally


@dataclass(frozen=True)
class RatingsPage:
    tally: RatingTally
    ratings: list[RatingRecord]
    next_before: int | None


async def ratings_page(
    stores: Stores, caller: Caller, owner: str, name: str, before_id: int | None, limit: int
) -> RatingsPage:
    model = await visible_model(stores.catalog, caller, owner, name)
    tally = tally_of_counters(await stores.social.counters(model.id))
    # One row more than asked tells whether another page exists.
    found = await stores.social.rating_page(model.id, before_id, limit + 1)
    more = len(found) > limit
    ratings = found[:limit]
    return RatingsPage(tally, ratings, ratings[-1].id if more else None)


async def set_favourite(
    stores: Stores, caller: Caller, owner: str, name: str, favourite: bool
) -> tuple[bool, int]:
    """Star (`favourite`) or unstar; idempotent, and an event only when something changed."""
    user = signed_in_user(caller)
    model = await visible_model(stores.catalog, caller, owner, name)
    changed = await stores.social.set_favourite(model.id, user, favourite)
    count = (await stores.social.counters(model.id)).favourites
    if changed:
        event_class = ModelFavourited if favourite else ModelUnfavourited
        await emit(
            stores.catalog.session,
            event_class(
                owner=model.owner,
                name=model.name,
                version=await stores.social.newest_version(model.id),
                favourited_by=user,
                favourites=count,
            ),
        )
    return favourite, count


async def favourite_models(stores: Stores, caller: Caller, limit: int) -> list[ModelRecord]:
    signed_in_user(caller)
    return await stores.social.favourite_models(caller, limit)


async def record_view(
    stores: Stores, caller: Caller, owner: str, name: str, version: int | None
) -> tuple[int, int | None]:
    """Count one view of a model page (and of one of its versions); the new counts."""
    model = await visible_model(stores.catalog, caller, owner, name)
    version_id = None
    if version is not None:
        found = await stores.catalog.find_version(model.id, version)
        if found is None:
            raise VersionNotFound(owner, name, version)
        version_id = found.id
    return await stores.social.count_view(model.id, version_id)
