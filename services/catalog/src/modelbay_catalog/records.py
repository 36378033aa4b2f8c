"""What the store hands to the use cases: plain frozen records, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from modelbay_common.access import ModelAccess, Visibility
from modelbay_common.interface import InterfaceDiff

from modelbay_catalog.lifecycle import VersionState, VersionStatus


@dataclass(frozen=True)
class ModelRecord:
    id: int
    owner: str
    name: str
    owner_org: str | None
    visibility: Visibility
    description: str
    category: str | None
    license: str | None
    tags: tuple[str, ...]
    latest_version: int | None
    latest_status: str | None
    libraries: tuple[str, ...]
    published_version: int | None
    published_at: datetime | None
    published_by: str | None
    created_at: datetime
    updated_at: datetime
    downloads: int = 0
    # Community counters, kept on the model row by modelbay_catalog.social.
    rating_count: int = 0
    rating_total: int = 0
    favourites: int = 0
    views: int = 0
    kind: str = "model"  # the newest described version's: `model` or `solution`
    deleted_at: datetime | None = None  # only lookups that include deleted models see it set

    @property
    def access(self) -> ModelAccess:
        return ModelAccess(owner=self.owner, owner_org=self.owner_org, visibility=self.visibility)


@dataclass(frozen=True)
class RecordedInterfaceDiff:
    """A version's interface changes since `compared_to` (interface_history.py says which)."""

    compared_to: int
    diff: InterfaceDiff


@dataclass(frozen=True)
class StoredVersion:
    """A version's state with its row id, timestamps and download counts by kind."""

    id: int
    state: VersionState
    created_at: datetime
    updated_at: datetime
    downloads: dict[str, int]
    interface_diff: RecordedInterfaceDiff | None = None
    trace_id: str | None = None  # the push's trace (docs/operations.md, "Traces")


@dataclass(frozen=True)
class PageModel:
    model: ModelRecord
    mirrored: bool  # a read-only mirror of a peer's model: its page also shows the origin


@dataclass(frozen=True)
class VersionLine:
    """What the model page shows of one version (store_pages.py reads it, `schemas.version_line`
    shows it)."""

    version: int
    status: VersionStatus
    kind: str
    failure_reason: str | None
    image_ref: str | None
    image_digest: str | None
    interface_diff: RecordedInterfaceDiff | None
    downloads: dict[str, int]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PublishRequest:
    """What the owner asks for when publishing (validated by the API schema)."""

    version: int | None  # None: the newest ready version
    visibility: Visibility
    description: str
    category: str
    license: str
    tags: tuple[str, ...] | None  # None keeps the model's current tags


@dataclass(frozen=True)
class Publication:
    visibility: Visibility
    version: int
    description: str
    category: str
    license: str
    tags: tuple[str, ...] | None  # None keeps the model's current tags
    published_by: str


class SearchSort(StrEnum):
    """The orders of a search; each is a keyset: (its value, model id), both descending."""

    RELEVANCE = "relevance"  # needs `q`; without one it is `recent`
    DOWNLOADS = "downloads"
    RATING = "rating"  # a damped mean of the stars, unrated models last (store_search.py)
    RECENT = "recent"  # newest model first (the id only grows)


class FacetName(StrEnum):
    CATEGORY = "category"
    LIBRARY = "library"
    LICENSE = "license"
    OWNER = "owner"
    KIND = "kind"  # model or solution
    STATUS = "status"  # of the caller's own models only


@dataclass(frozen=True)
class SearchCriteria:
    """A model search: `q` is free text (typos tolerated); the rest are exact filters."""

    q: str | None = None
    category: str | None = None
    library: str | None = None
    owner: str | None = None
    status: str | None = None
    license: str | None = None
    kind: str | None = None  # `model` or `solution`
    sort: SearchSort | None = None  # None: relevance with `q`, else recent

    @property
    def effective_sort(self) -> SearchSort:
        if self.sort is None or (self.sort is SearchSort.RELEVANCE and not self.q):
            return SearchSort.RELEVANCE if self.q else SearchSort.RECENT
        return self.sort

    def filter_value(self, facet: FacetName) -> str | None:
        return {
            FacetName.CATEGORY: self.category,
            FacetName.LIBRARY: self.library,
            FacetName.LICENSE: self.license,
            FacetName.OWNER: self.owner,
            FacetName.KIND: self.kind,
            FacetName.STATUS: self.status,
        }[facet]

    def as_dict(self) -> dict[str, str | None]:
        return {
            "q": self.q,
            "category": self.category,
            "library": self.library,
            "owner": self.owner,
            "status": self.status,
            "license": self.license,
            "kind": self.kind,
            "sort": self.effective_sort.value,
        }


@dataclass(frozen=True)
class SearchHit:
    model: ModelRecord
    rank: float | None
    sort_value: float | None
    """The value of the search's sort key for this row (rank, downloads; None for recent)."""


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


Facets = dict[FacetName, list[FacetCount]]
"""Per facet, its values with how many matching models have each, most first."""
