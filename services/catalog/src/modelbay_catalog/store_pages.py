"""The two hottest reads, search hits and the model page, read as plain rows (docs/benchmarks.md,
"Catalog search", sessions 4 and 6).

`select(ModelRow)` hydrates every column of an ORM instance (the search vector, the interface
terms, the rating histogram: ~1 kB a row that no answer shows) and then `to_model_record`
copies it once more. Here a hit or a page selects only the columns its answer shows, as plain
rows turned straight into the same `ModelRecord`; the model page also learns in the same
statement whether the model is a mirror, so the federation tables are read only for mirrors,
and gets each version's download counts in the statement that reads the versions. The page's
statements are SQL text prepared on the driver (`FIND_MODEL`, `VERSION_LINES`); the search's
are in search_sql.py.
"""

from __future__ import annotations

from typing import Any, cast

import asyncpg
from modelbay_common.access import Visibility
from modelbay_common.interface import InterfaceChange, InterfaceDiff
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.federation.orm import MirroredModelRow
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.orm import SCHEMA, DownloadCountRow, ModelRow, VersionRow
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


def summary_select_list(alias: str) -> str:
    """The columns of a hit (SUMMARY_COLUMNS, in order) of `models AS alias`, as SQL text."""
    return ", ".join(f"{alias}.{column.expression.name}" for column in SUMMARY_COLUMNS)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under `session` (its pool, and its transaction if one is open):
    the hot reads run on it as prepared statements, which asyncpg prepares once per
    connection and keeps (here and in search_sql.py)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return cast(asyncpg.Connection, raw.driver_connection)


# The model page's two statements as SQL text, run as prepared statements on the session's
# asyncpg connection (as search_sql.py does for the search): built as Core `select`s they cost
# ~0.5 ms of CPU a page in coercions, cache keys and result processing (docs/benchmarks.md,
# "Catalog search", session 6). Same columns and conditions as the Core statements they replace.
_MIRRORS = f"{SCHEMA}.{MirroredModelRow.__tablename__}"
FIND_MODEL = (
    f"SELECT {summary_select_list('m')}, "
    f"EXISTS (SELECT 1 FROM {_MIRRORS} AS mirror WHERE mirror.model_id = m.id) "
    f"FROM {SCHEMA}.{ModelRow.__tablename__} AS m "
    "WHERE m.owner = $1 AND m.name = $2 AND m.deleted_at IS NULL"
)
VERSION_LINES = (
    "SELECT v.version, v.status, v.kind, v.failure_reason, v.image_ref, v.image_digest, "
    "v.interface_compared_to, v.interface_changes, "
    f"(SELECT jsonb_object_agg(d.kind, d.count) FROM {SCHEMA}.{DownloadCountRow.__tablename__} AS d"
    " WHERE d.version_id = v.id), "
    "v.created_at, v.updated_at "
    f"FROM {SCHEMA}.{VersionRow.__tablename__} AS v WHERE v.model_id = $1 ORDER BY v.version"
)


class ModelPageStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        return self._session

    async def find_model(self, owner: str, name: str) -> PageModel | None:
        """The model unless missing or deleted, and whether it is a mirror (one statement)."""
        row = await (await driver_connection(self._session)).fetchrow(FIND_MODEL, owner, name)
        if row is None:
            return None
        return PageModel(model=summary_record(tuple(row)), mirrored=bool(row[SUMMARY_WIDTH]))

    async def version_lines(self, model_id: int) -> list[VersionLine]:
        """Every version of the model, oldest first, with its download counts by kind."""
        rows = await (await driver_connection(self._session)).fetch(VERSION_LINES, model_id)
        return [_version_line(tuple(row)) for row in rows]


def _version_line(row: tuple[Any, ...]) -> VersionLine:
    (
        version, status, kind, failure_reason, image_ref, image_digest,
        compared_to, changes, downloads, created_at, updated_at,
    ) = row  # fmt: skip
    # JSONB arrives parsed: SQLAlchemy's dialect sets the driver's jsonb codec on every
    # connection it opens, so the raw connection decodes it as the JSONB type would.
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
