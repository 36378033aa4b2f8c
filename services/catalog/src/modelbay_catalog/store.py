"""Queries on models, versions and download counts (search is in store_search.py).

The only module besides store_search.py that touches the ORM. It flushes, never commits: the
entrypoint (request dependency or inbox wrapper) owns the transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from modelbay_common.access import Visibility
from modelbay_common.interface import InterfaceChange, InterfaceDiff
from sqlalchemy import ColumnElement, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.interface_history import InterfaceDiffUpdate
from modelbay_catalog.lifecycle import VersionState, VersionStatus
from modelbay_catalog.orm import DownloadCountRow, ModelRow, SearchWordRow, VersionRow
from modelbay_catalog.records import (
    ModelRecord,
    Publication,
    RecordedInterfaceDiff,
    StoredVersion,
)
from modelbay_catalog.rules import library_names

# One text-search configuration for documents and queries, so both are stemmed alike.
TEXT_SEARCH_CONFIG: ColumnElement[Any] = literal_column("'english'::regconfig")
# Words as written, for the vocabulary of typo corrections and for prefixes being typed.
SIMPLE_CONFIG: ColumnElement[Any] = literal_column("'simple'::regconfig")
MIN_VOCABULARY_WORD, MAX_VOCABULARY_WORD = 3, 40
_STATE_FIELDS = tuple(field.name for field in dataclasses.fields(VersionState))
# Tuples in the record, arrays (lists) in the row; annotations are strings (PEP 563).
_TUPLE_FIELDS = frozenset(
    field.name for field in dataclasses.fields(VersionState) if str(field.type).startswith("tuple")
)


def _weighted(document: Any, weight: str) -> ColumnElement[Any]:
    # An untyped literal, so PostgreSQL reads the weight as its "char" type (not varchar).
    return func.setweight(
        func.to_tsvector(TEXT_SEARCH_CONFIG, document), literal_column(f"'{weight}'")
    )


def search_document() -> ColumnElement[Any]:
    """Name and tags weigh most, then the description, then method, field and library names,
    then the owner (the migration that last changed it backfills the same expression)."""
    return (
        _weighted(ModelRow.name, "A")
        .op("||")(_weighted(func.array_to_string(ModelRow.tags, " "), "A"))
        .op("||")(_weighted(ModelRow.description, "B"))
        .op("||")(_weighted(ModelRow.interface_terms, "C"))
        .op("||")(_weighted(func.array_to_string(ModelRow.libraries, " "), "C"))
        .op("||")(_weighted(ModelRow.owner, "D"))
    )


def vocabulary_words() -> ColumnElement[Any]:
    """The words of a model's searchable text as written (`simple`: lower-cased, not stemmed),
    an array: what a mistyped query word may be corrected to (spelling.py)."""
    text = func.concat_ws(
        " ",
        ModelRow.name,
        func.array_to_string(ModelRow.tags, " "),
        ModelRow.description,
        ModelRow.interface_terms,
        func.array_to_string(ModelRow.libraries, " "),
        ModelRow.owner,
    )
    return func.tsvector_to_array(func.to_tsvector(SIMPLE_CONFIG, text))


def to_model_record(row: ModelRow) -> ModelRecord:
    return ModelRecord(
        id=row.id,
        owner=row.owner,
        name=row.name,
        owner_org=row.owner_org,
        visibility=Visibility(row.visibility),
        description=row.description,
        category=row.category,
        license=row.license,
        tags=tuple(row.tags),
        latest_version=row.latest_version,
        latest_status=row.latest_status,
        libraries=tuple(row.libraries),
        published_version=row.published_version,
        published_at=row.published_at,
        published_by=row.published_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        downloads=int(row.downloads),
        rating_count=int(row.rating_count),
        rating_total=int(row.rating_total),
        favourites=int(row.favourites),
        views=int(row.views),
        kind=row.kind,
        deleted_at=row.deleted_at,
    )


def _to_state(row: VersionRow) -> VersionState:
    values: dict[str, Any] = {name: getattr(row, name) for name in _STATE_FIELDS}
    values["status"] = VersionStatus(row.status)
    for name in _TUPLE_FIELDS:
        values[name] = tuple(values[name] or ())
    return VersionState(**values)


def _state_columns(state: VersionState) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(state, name) for name in _STATE_FIELDS}
    values["status"] = state.status.value
    for name in _TUPLE_FIELDS:
        values[name] = list(values[name])
    return values


class CatalogStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        """The unit of work, for writing events to the outbox next to the state change."""
        return self._session

    # -- models ------------------------------------------------------------------------------

    async def lock_model(self, owner: str, name: str) -> int:
        """The id of model `owner/name`, created if new, its row locked until commit.

        Locking the model row serialises concurrent events of one model (the bus runs handlers
        concurrently), so the summary of its newest version stays consistent.
        """
        statement = (
            insert(ModelRow)
            .values(owner=owner, name=name)
            .on_conflict_do_update(
                constraint="models_owner_name_key", set_={"owner": insert(ModelRow).excluded.owner}
            )
            .returning(ModelRow.id)
        )
        return int((await self._session.execute(statement)).scalar_one())

    async def find_model(self, owner: str, name: str) -> ModelRecord | None:
        """The model, unless it does not exist or was deleted (a deleted model is hidden from
        every read; lookups that need it use SolutionStore.find_model_even_deleted)."""
        statement = select(ModelRow).where(
            ModelRow.owner == owner, ModelRow.name == name, ModelRow.deleted_at.is_(None)
        )
        found = await self._session.scalar(statement)
        return None if found is None else to_model_record(found)

    async def adopt_upload_metadata(
        self, model_id: int, owner_org: str | None, description: str | None, license: str | None
    ) -> None:
        """Fill what the owner has not set yet from an upload; publishing sets it for good."""
        row = await self._session.get_one(ModelRow, model_id)
        if row.owner_org is None and owner_org:
            row.owner_org = owner_org
        if row.published_at is None:
            row.description = description or row.description
            row.license = license or row.license
        await self._session.flush()

    async def refresh_model_summary(self, model_id: int) -> None:
        """Recompute the newest-version summary and the search document of a model."""
        versions = await self.list_version_states(model_id)
        row = await self._session.get_one(ModelRow, model_id)
        if versions:
            newest = versions[-1]
            row.latest_version = newest.version
            row.latest_status = newest.status.value
        described = [state for state in versions if state.has_upload]
        if described:
            newest_described = described[-1]
            row.libraries = list(library_names(newest_described.requirements))
            row.interface_terms = _interface_terms(newest_described)
            row.kind = newest_described.kind
        row.updated_at = datetime.now(UTC)
        await self._refresh_search_vector(model_id)

    async def publish(self, model_id: int, publication: Publication) -> None:
        row = await self._session.get_one(ModelRow, model_id)
        row.visibility = publication.visibility.value
        row.description = publication.description
        row.category = publication.category
        row.license = publication.license
        if publication.tags is not None:
            row.tags = list(publication.tags)
        row.published_version = publication.version
        row.published_at = datetime.now(UTC)
        row.published_by = publication.published_by
        row.updated_at = datetime.now(UTC)
        await self._refresh_search_vector(model_id)

    async def _refresh_search_vector(self, model_id: int) -> None:
        await self._session.flush()
        words = (
            await self._session.execute(
                update(ModelRow)
                .where(ModelRow.id == model_id)
                .values(search_vector=search_document())
                .returning(vocabulary_words())
            )
        ).scalar_one()
        await self.add_search_words(words)

    async def add_search_words(self, words: Sequence[str]) -> None:
        """Add words to the vocabulary of typo corrections (never removed; see SearchWordRow).
        The trigger `search_word_deletes_sync` (migration 0019) writes the new words' deletion
        variants in the same statement; words already known are skipped, and their variants
        with them."""
        kept = sorted({w for w in words if MIN_VOCABULARY_WORD <= len(w) <= MAX_VOCABULARY_WORD})
        if kept:
            # Sorted, so that concurrent transactions take the key locks in one order.
            statement = insert(SearchWordRow).values([{"word": word} for word in kept])
            await self._session.execute(statement.on_conflict_do_nothing())

    # -- versions ----------------------------------------------------------------------------

    async def lock_version(self, model_id: int, version: int) -> VersionState | None:
        statement = (
            select(VersionRow)
            .where(VersionRow.model_id == model_id, VersionRow.version == version)
            .with_for_update()
        )
        row = await self._session.scalar(statement)
        return None if row is None else _to_state(row)

    async def save_version(self, model_id: int, state: VersionState) -> None:
        """Insert or update the version row from `state` (the model row is already locked)."""
        values = _state_columns(state)
        statement = (
            insert(VersionRow)
            .values(model_id=model_id, **values)
            .on_conflict_do_update(
                constraint="versions_model_version_key", set_={**values, "updated_at": func.now()}
            )
        )
        await self._session.execute(statement)

    async def adopt_trace_id(self, owner: str, name: str, version: int, trace_id: str) -> None:
        """Record the version's trace id unless it has one (the first traced event wins)."""
        model_id = select(ModelRow.id).where(ModelRow.owner == owner, ModelRow.name == name)
        await self._session.execute(
            update(VersionRow)
            .where(
                VersionRow.model_id == model_id.scalar_subquery(),
                VersionRow.version == version,
                VersionRow.trace_id.is_(None),
            )
            .values(trace_id=trace_id)
        )

    async def list_version_states(self, model_id: int) -> list[VersionState]:
        statement = (
            select(VersionRow).where(VersionRow.model_id == model_id).order_by(VersionRow.version)
        )
        return [_to_state(row) for row in await self._session.scalars(statement)]

    async def list_versions(self, model_id: int) -> list[StoredVersion]:
        statement = (
            select(VersionRow).where(VersionRow.model_id == model_id).order_by(VersionRow.version)
        )
        rows = list(await self._session.scalars(statement))
        counts = await self._download_counts([row.id for row in rows])
        return [_to_stored(row, counts.get(row.id, {})) for row in rows]

    async def find_version(self, model_id: int, version: int) -> StoredVersion | None:
        statement = select(VersionRow).where(
            VersionRow.model_id == model_id, VersionRow.version == version
        )
        row = await self._session.scalar(statement)
        if row is None:
            return None
        counts = await self._download_counts([row.id])
        return _to_stored(row, counts.get(row.id, {}))

    async def descriptor_sets(self, model_id: int) -> dict[int, bytes]:
        """Every version of the model whose descriptor set is known, by number."""
        statement = select(VersionRow.version, VersionRow.descriptor_set).where(
            VersionRow.model_id == model_id, VersionRow.descriptor_set.is_not(None)
        )
        rows = await self._session.execute(statement)
        return {int(number): bytes(raw) for number, raw in rows if raw is not None}

    async def save_interface_diff(self, model_id: int, update_: InterfaceDiffUpdate) -> None:
        diff = update_.diff
        statement = (
            update(VersionRow)
            .where(VersionRow.model_id == model_id, VersionRow.version == update_.version)
            .values(
                interface_compared_to=None if diff is None else update_.compared_to,
                interface_breaking=None if diff is None else diff.breaking,
                interface_changes=None if diff is None else diff.to_dict()["changes"],
            )
        )
        await self._session.execute(statement)

    async def version_statuses(self, model_id: int) -> dict[int, VersionStatus]:
        statement = select(VersionRow.version, VersionRow.status).where(
            VersionRow.model_id == model_id
        )
        rows = await self._session.execute(statement)
        return {int(number): VersionStatus(status) for number, status in rows}

    # -- downloads ---------------------------------------------------------------------------

    async def count_download(self, version_id: int, kind: str) -> None:
        # One atomic upsert: concurrent downloads never lose an increment.
        statement = insert(DownloadCountRow).values(version_id=version_id, kind=kind, count=1)
        statement = statement.on_conflict_do_update(
            index_elements=[DownloadCountRow.version_id, DownloadCountRow.kind],
            set_={"count": DownloadCountRow.count + 1},
        )
        await self._session.execute(statement)
        totals = (
            update(ModelRow)
            .where(
                ModelRow.id
                == select(VersionRow.model_id).where(VersionRow.id == version_id).scalar_subquery()
            )
            .values(downloads=ModelRow.downloads + 1)
        )
        await self._session.execute(totals)

    async def _download_counts(self, version_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        if not version_ids:
            return {}
        statement = select(
            DownloadCountRow.version_id, DownloadCountRow.kind, DownloadCountRow.count
        ).where(DownloadCountRow.version_id.in_(version_ids))
        counts: dict[int, dict[str, int]] = {}
        for version_id, kind, count in await self._session.execute(statement):
            counts.setdefault(version_id, {})[kind] = int(count)
        return counts


def _to_stored(row: VersionRow, downloads: dict[str, int]) -> StoredVersion:
    return StoredVersion(
        id=row.id,
        state=_to_state(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        downloads=downloads,
        interface_diff=_recorded_diff(row),
        trace_id=row.trace_id,
    )


def _recorded_diff(row: VersionRow) -> RecordedInterfaceDiff | None:
    if row.interface_compared_to is None or row.interface_changes is None:
        return None
    changes = [InterfaceChange.model_validate(change) for change in row.interface_changes]
    return RecordedInterfaceDiff(
        compared_to=row.interface_compared_to, diff=InterfaceDiff.of(changes)
    )


def _interface_terms(state: VersionState) -> str:
    terms: list[str] = list(state.methods)
    for method in state.interface:
        terms.extend(str(method.get(key) or "") for key in ("input_message", "output_message"))
    terms.extend(state.field_names())
    return " ".join(term for term in terms if term)
