"""The model search: full text, filters, visibility and keyset pagination in one query."""

from __future__ import annotations

from modelbay_common.access import Caller, Visibility
from sqlalchemy import Select, and_, false, func, literal, null, or_, select, true, tuple_
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from modelbay_catalog.cursor import SortKey
from modelbay_catalog.orm import ModelRow
from modelbay_catalog.records import SearchCriteria, SearchHit
from modelbay_catalog.rules import normalize_package_name
from modelbay_catalog.store import TEXT_SEARCH_CONFIG, downloads_of_model, to_model_record


def visible_to(caller: Caller) -> ColumnElement[bool]:
    """The SQL twin of `modelbay_common.access.can_see`: which model rows `caller` may see.

    It must give the same answers as the shared rule; tests/integration/catalog/
    test_catalog_visibility_twin.py compares both on every kind of caller and model.
    """
    if caller.admin:
        return true()
    conditions: list[ColumnElement[bool]] = [ModelRow.visibility == Visibility.PUBLIC.value]
    if caller.user:
        conditions.append(ModelRow.owner == caller.user)
    if caller.org:
        conditions.append(
            and_(ModelRow.visibility == Visibility.ORG.value, ModelRow.owner_org == caller.org)
        )
    return or_(*conditions) if conditions else false()


def _filters(criteria: SearchCriteria) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if criteria.category:
        filters.append(ModelRow.category == criteria.category)
    if criteria.library:
        # @> uses the GIN index on libraries.
        filters.append(ModelRow.libraries.contains([normalize_package_name(criteria.library)]))
    if criteria.owner:
        filters.append(ModelRow.owner == criteria.owner)
    if criteria.status:
        filters.append(ModelRow.latest_status == criteria.status)
    return filters


class SearchStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def search(
        self, criteria: SearchCriteria, caller: Caller, after: SortKey | None, limit: int
    ) -> list[SearchHit]:
        """Up to `limit` visible models matching `criteria`, strictly after `after`.

        With a text query the order is rank (best first), then id (newest first); without
        one it is id alone, newest first. The id never changes, so a page boundary is stable
        while models are added or updated between requests.
        """
        statement = (
            self._ranked(criteria, after) if criteria.q else self._by_newest(criteria, after)
        )
        statement = statement.where(visible_to(caller), *_filters(criteria)).limit(limit)
        rows = (await self._session.execute(statement)).all()
        return [
            SearchHit(model=to_model_record(row[0], row[1]), rank=row[2] if criteria.q else None)
            for row in rows
        ]

    def _by_newest(
        self, criteria: SearchCriteria, after: SortKey | None
    ) -> Select[ModelRow, int, float]:
        statement: Select[ModelRow, int, float] = select(
            ModelRow, downloads_of_model(), null().cast(DOUBLE_PRECISION)
        ).order_by(ModelRow.id.desc())
        if after is not None:
            statement = statement.where(ModelRow.id < after.model_id)
        return statement

    def _ranked(
        self, criteria: SearchCriteria, after: SortKey | None
    ) -> Select[ModelRow, int, float]:
        query = func.websearch_to_tsquery(TEXT_SEARCH_CONFIG, criteria.q)
        # float8, so the rank written into the cursor compares exactly on the next page.
        rank = func.ts_rank(ModelRow.search_vector, query).cast(DOUBLE_PRECISION)
        statement: Select[ModelRow, int, float] = (
            select(ModelRow, downloads_of_model(), rank)
            .where(ModelRow.search_vector.op("@@")(query))
            .order_by(rank.desc(), ModelRow.id.desc())
        )
        if after is not None:
            boundary = tuple_(literal(after.rank or 0.0, DOUBLE_PRECISION), literal(after.model_id))
            statement = statement.where(tuple_(rank, ModelRow.id) < boundary)
        return statement
