"""The two hottest reads, search hits and the model page, read with Core (docs/benchmarks.md,
"Catalog search", session 4).

`select(ModelRow)` hydrates every column of an ORM instance (the search vector, the interface
terms, the rating histogram: ~1 kB a row that no answer shows) and then `to_model_record`
copies it once more. Here a hit or a page selects only the columns its answer shows, as plain
Core rows turned straight into the same `ModelRecord`; the model page also learns in the same
statement whether the model is a mirror, so the federation tables are read only for mirrors,
and gets each version's download counts in the statement that reads the versions.
"""

from __future__ import annotations

from typing import Any

from modelbay_common.access import Visibility
from modelbay_common.interface import InterfaceChange, InterfaceDiff
from sqlalchemy import Row, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.federation.orm import MirroredModelRow
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.orm import DownloadCountRow, ModelRow, VersionRow
from modelbay_catalog.records import ModelRecord, PageModel, RecordedInterfaceDiff, VersionLine

# What a search hit and a model page show of a model, in `ModelRecord`'s field order.
SUMMARY_COLUMNS = (
    ModelRow.id,
    ModelRow.owner,
    ModelRow.name,
    ModelRow.owner_org,
    ModelRow.visibility,
    ModelRow.description,
    ModelRow.category,
    ModelRow.license,
    ModelRow.tags,
    ModelRow.latest_version,
    ModelRow.latest_status,
    ModelRow.libraries,
    ModelRow.published_version,
    ModelRow.published_at,
    ModelRow.published_by,
    ModelRow.created_at,
    ModelRow.updated_at,
    ModelRow.downloads,
    ModelRow.rating_count,
    ModelRow.rating_total,
    ModelRow.favourites,
    ModelRow.views,
    ModelRow.kind,
)
SUMMARY_WIDTH = len(SUMMARY_COLUMNS)


def summary_record(row: Row[Any] | tuple[Any, ...]) -> ModelRecord:
    """The `ModelRecord` of the first `SUMMARY_WIDTH` values of a row (never deleted)."""
    (
        model_id, owner, name, owner_org, visibility, description, category, license_,
        tags, latest_version, latest_status, libraries, published_version, published_at,
        published_by, created_at, updated_at, downloads, rating_count, rating_total,
        favourites, views, kind,
    ) = row[:SUMMARY_WIDTH]  # fmt: skip
    return ModelRecord(
        id=model_id,
        owner=owner,
        name=name,
        owner_org=owner_org,
        visibility=Visibility(visibility),
        description=description,
        category=category,
        license=license_,
        tags=tuple(tags),
        latest_version=latest_version,
        latest_status=latest_status,
        libraries=tuple(libraries),
        published_version=published_version,
        published_at=published_at,
        published_by=published_by,
        created_at=created_at,
        updated_at=updated_at,
        downloads=downloads,
        rating_count=rating_count,
        rating_total=rating_total,
        favourites=favourites,
        views=views,
        kind=kind,
    )


class ModelPageStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        return self._session

    async def find_model(self, owner: str, name: str) -> PageModel | None:
        """The model unless missing or deleted, and whether it is a mirror (one statement)."""
        is_mirror = exists().where(MirroredModelRow.model_id == ModelRow.id)
        statement = select(*SUMMARY_COLUMNS, is_mirror).where(
            ModelRow.owner == owner, ModelRow.name == name, ModelRow.deleted_at.is_(None)
        )
        row = (await self._session.execute(statement)).first()
        if row is None:
            return None
        return PageModel(model=summary_record(row), mirrored=bool(row[SUMMARY_WIDTH]))

    async def version_lines(self, model_id: int) -> list[VersionLine]:
        """Every version of the model, oldest first, with its download counts by kind."""
        downloads = (
            select(func.jsonb_object_agg(DownloadCountRow.kind, DownloadCountRow.count))
            .where(DownloadCountRow.version_id == VersionRow.id)
            .scalar_subquery()
        )
        statement = (
            select(
                VersionRow.version,
                VersionRow.status,
                VersionRow.kind,
                VersionRow.failure_reason,
                VersionRow.image_ref,
                VersionRow.image_digest,
                VersionRow.interface_compared_to,
                VersionRow.interface_changes,
                downloads,
                VersionRow.created_at,
                VersionRow.updated_at,
            )
            .where(VersionRow.model_id == model_id)
            .order_by(VersionRow.version)
        )
        return [_version_line(row) for row in await self._session.execute(statement)]


def _version_line(row: Row[Any]) -> VersionLine:
    (
        version, status, kind, failure_reason, image_ref, image_digest,
        compared_to, changes, downloads, created_at, updated_at,
    ) = tuple(row)  # fmt: skip
    diff = None
    if compared_to is not None and changes is not None:
        parsed = [InterfaceChange.model_validate(change) for change in changes]
        diff = RecordedInterfaceDiff(compared_to=compared_to, diff=InterfaceDiff.of(parsed))
    return VersionLine(
        version=version,
        status=VersionStatus(status),
        kind=kind,
        failure_reason=failure_reason,
        image_ref=image_ref,
        image_digest=image_digest,
        interface_diff=diff,
        downloads={kind_: int(count) for kind_, count in (downloads or {}).items()},
        created_at=created_at,
        updated_at=updated_at,
    )
