"""Queries of ratings, comments, favourites and views. They flush, never commit.

Counters live on the model row (`rating_*`, `favourites`, `views`) and the version row
(`views`). A rating changes under the model row's lock (`counters(lock=True)`), so the tally written
back is computed from the tally read; stars and views are atomic increments.
"""

from __future__ import annotations

from datetime import UTC, datetime

from modelbay_common.access import Caller
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.orm import (
    CommentRow,
    DownloadCountRow,
    FavouriteRow,
    ModelRow,
    RatingRow,
    VersionRow,
)
from modelbay_catalog.records import ModelRecord
from modelbay_catalog.social.records import CommentRecord, Counters, RatingRecord
from modelbay_catalog.social.rules import RatingTally
from modelbay_catalog.store import to_model_record
from modelbay_catalog.store_search import visible_to


def _rating(row: RatingRow) -> RatingRecord:
    return RatingRecord(
        id=row.id,
        username=row.username,
        stars=row.stars,
        review=row.review,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _comment(row: CommentRow, version: int) -> CommentRecord:
    return CommentRecord(
        id=row.id,
        version=version,
        parent_id=row.parent_id,
        root_id=row.root_id,
        depth=row.depth,
        author=row.author,
        body=row.body,
        created_at=row.created_at,
        edited_at=row.edited_at,
        deleted_at=row.deleted_at,
        deleted_by=row.deleted_by,
        hidden_at=row.hidden_at,
        hidden_by=row.hidden_by,
        hidden_reason=row.hidden_reason,
    )


_COUNTER_COLUMNS = (
    ModelRow.rating_count,
    ModelRow.rating_total,
    ModelRow.rating_histogram,
    ModelRow.favourites,
    ModelRow.views,
)


class SocialStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        return self._session

    # -- counters ----------------------------------------------------------------------------

    async def counters(self, model_id: int, *, lock: bool = False) -> Counters:
        """The model's counters; `lock` holds its row until commit (ratings change under it)."""
        statement = select(*_COUNTER_COLUMNS, ModelRow.downloads).where(ModelRow.id == model_id)
        if lock:
            statement = statement.with_for_update(of=ModelRow)
        count, total, histogram, favourites, views, downloads = (
            await self._session.execute(statement)
        ).one()
        return Counters(
            rating_count=int(count),
            rating_total=int(total),
            rating_histogram=tuple(int(value) for value in histogram),
            favourites=int(favourites),
            views=int(views),
            downloads=int(downloads),
        )

    async def save_tally(self, model_id: int, tally: RatingTally) -> None:
        await self._session.execute(
            update(ModelRow)
            .where(ModelRow.id == model_id)
            .values(
                rating_count=tally.count,
                rating_total=tally.total,
                rating_histogram=list(tally.histogram),
            )
        )

    async def newest_version(self, model_id: int) -> int:
        found = await self._session.scalar(
            select(func.max(VersionRow.version)).where(VersionRow.model_id == model_id)
        )
        # A model exists because a version was uploaded, so there is always one.
        return int(found or 1)

    async def version_counts(self, model_id: int) -> list[tuple[int, int, int]]:
        """(version, views, downloads of every kind) of each version, oldest first."""
        statement = (
            select(
                VersionRow.version,
                VersionRow.views,
                func.coalesce(func.sum(DownloadCountRow.count), 0),
            )
            .outerjoin(DownloadCountRow, DownloadCountRow.version_id == VersionRow.id)
            .where(VersionRow.model_id == model_id)
            .group_by(VersionRow.id)
            .order_by(VersionRow.version)
        )
        rows = await self._session.execute(statement)
        return [(int(number), int(views), int(downloads)) for number, views, downloads in rows]

    # -- ratings -----------------------------------------------------------------------------

    async def find_rating(self, model_id: int, username: str) -> RatingRecord | None:
        row = await self._session.scalar(
            select(RatingRow).where(RatingRow.model_id == model_id, RatingRow.username == username)
        )
        return None if row is None else _rating(row)

    async def save_rating(
        self, model_id: int, username: str, stars: int, review: str | None, version: int
    ) -> RatingRecord:
        """Insert the user's rating or replace it (the caller holds the model's lock)."""
        now = datetime.now(UTC)
        values = {"stars": stars, "review": review, "version": version}
        statement = (
            insert(RatingRow)
            .values(model_id=model_id, username=username, **values)
            .on_conflict_do_update(
                constraint="ratings_model_user_key", set_={**values, "updated_at": now}
            )
            .returning(RatingRow)
        )
        row = (await self._session.execute(statement)).scalar_one()
        return _rating(row)

    async def delete_rating(self, model_id: int, username: str) -> None:
        await self._session.execute(
            delete(RatingRow).where(RatingRow.model_id == model_id, RatingRow.username == username)
        )

    async def rating_page(
        self, model_id: int, before_id: int | None, limit: int
    ) -> list[RatingRecord]:
        """Ratings newest first, those older than `before_id` (keyset)."""
        statement = select(RatingRow).where(RatingRow.model_id == model_id)
        if before_id is not None:
            statement = statement.where(RatingRow.id < before_id)
        rows = await self._session.scalars(statement.order_by(RatingRow.id.desc()).limit(limit))
        return [_rating(row) for row in rows]

    async def recount_stars(self, model_id: int) -> list[int]:
        """Every rating's stars, read from the rows (what the tally must agree with)."""
        rows = await self._session.scalars(
            select(RatingRow.stars).where(RatingRow.model_id == model_id)
        )
        return [int(stars) for stars in rows]

    # -- favourites --------------------------------------------------------------------------

    async def set_favourite(self, model_id: int, username: str, favourite: bool) -> bool:
        """Star or unstar; whether anything changed (the counter moves only then)."""
        changed = (
            insert(FavouriteRow)
            .values(model_id=model_id, username=username)
            .on_conflict_do_nothing()
            .returning(FavouriteRow.model_id)
            if favourite
            else delete(FavouriteRow)
            .where(FavouriteRow.model_id == model_id, FavouriteRow.username == username)
            .returning(FavouriteRow.model_id)
        )
        if (await self._session.execute(changed)).first() is None:
            return False
        step = 1 if favourite else -1
        await self._session.execute(
            update(ModelRow)
            .where(ModelRow.id == model_id)
            .values(favourites=ModelRow.favourites + step)
        )
        return True

    async def is_favourite(self, model_id: int, username: str | None) -> bool:
        if username is None:
            return False
        found = await self._session.scalar(
            select(FavouriteRow.model_id).where(
                FavouriteRow.model_id == model_id, FavouriteRow.username == username
            )
        )
        return found is not None

    async def favourite_models(self, caller: Caller, limit: int) -> list[ModelRecord]:
        """The models `caller` has starred and may still see, most recently starred first."""
        assert caller.user is not None
        statement = (
            select(ModelRow)
            .join(FavouriteRow, FavouriteRow.model_id == ModelRow.id)
            .where(
                FavouriteRow.username == caller.user,
                visible_to(caller),
                ModelRow.deleted_at.is_(None),  # a deleted model is hidden everywhere
            )
            .order_by(FavouriteRow.created_at.desc(), FavouriteRow.model_id.desc())
            .limit(limit)
        )
        return [to_model_record(row) for row in await self._session.scalars(statement)]

    # -- views -------------------------------------------------------------------------------

    async def count_view(self, model_id: int, version_id: int | None) -> tuple[int, int | None]:
        """One more view of the model (and of the version); the new counts."""
        model_views = await self._session.scalar(
            update(ModelRow)
            .where(ModelRow.id == model_id)
            .values(views=ModelRow.views + 1)
            .returning(ModelRow.views)
        )
        version_views = None
        if version_id is not None:
            version_views = await self._session.scalar(
                update(VersionRow)
                .where(VersionRow.id == version_id)
                .values(views=VersionRow.views + 1)
                .returning(VersionRow.views)
            )
        return int(model_views or 0), None if version_views is None else int(version_views)

    # -- comments ----------------------------------------------------------------------------

    async def find_comment(
        self, version_id: int, version: int, comment_id: int, *, lock: bool = False
    ) -> CommentRecord | None:
        statement = select(CommentRow).where(
            CommentRow.id == comment_id, CommentRow.version_id == version_id
        )
        if lock:
            statement = statement.with_for_update()
        row = await self._session.scalar(statement)
        return None if row is None else _comment(row, version)

    async def add_comment(
        self,
        model_id: int,
        version_id: int,
        version: int,
        author: str,
        body: str,
        parent: CommentRecord | None,
        depth: int,
    ) -> CommentRecord:
        row = CommentRow(
            model_id=model_id,
            version_id=version_id,
            parent_id=None if parent is None else parent.id,
            root_id=None if parent is None else parent.thread_id,
            depth=depth,
            author=author,
            body=body,
        )
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return _comment(row, version)

    async def edit_comment(self, comment_id: int, body: str) -> None:
        await self._session.execute(
            update(CommentRow)
            .where(CommentRow.id == comment_id)
            .values(body=body, edited_at=datetime.now(UTC))
        )

    async def delete_comment(self, comment_id: int, deleted_by: str) -> None:
        # The text goes (it was withdrawn); the row stays so that replies keep their place.
        await self._session.execute(
            update(CommentRow)
            .where(CommentRow.id == comment_id)
            .values(body=None, deleted_at=datetime.now(UTC), deleted_by=deleted_by)
        )

    async def moderate_comment(
        self, comment_id: int, hidden: bool, moderator: str, reason: str | None
    ) -> None:
        values = (
            {"hidden_at": datetime.now(UTC), "hidden_by": moderator, "hidden_reason": reason}
            if hidden
            else {"hidden_at": None, "hidden_by": None, "hidden_reason": None}
        )
        await self._session.execute(
            update(CommentRow).where(CommentRow.id == comment_id).values(**values)
        )

    async def thread_page(
        self, version_id: int, version: int, after_id: int | None, limit: int
    ) -> tuple[list[CommentRecord], list[int]]:
        """Top-level comments after `after_id` (oldest first), with every reply in their
        threads; and the ids of those top-level comments, in order."""
        roots = select(CommentRow.id).where(
            CommentRow.version_id == version_id, CommentRow.parent_id.is_(None)
        )
        if after_id is not None:
            roots = roots.where(CommentRow.id > after_id)
        root_ids = list(await self._session.scalars(roots.order_by(CommentRow.id).limit(limit)))
        if not root_ids:
            return [], []
        rows = await self._session.scalars(
            select(CommentRow)
            .where(or_(CommentRow.id.in_(root_ids), CommentRow.root_id.in_(root_ids)))
            .order_by(CommentRow.id)
        )
        return [_comment(row, version) for row in rows], [int(found) for found in root_ids]

    async def count_comments(self, version_id: int) -> int:
        found = await self._session.scalar(
            select(func.count())
            .select_from(CommentRow)
            .where(CommentRow.version_id == version_id, CommentRow.deleted_at.is_(None))
        )
        return int(found or 0)
