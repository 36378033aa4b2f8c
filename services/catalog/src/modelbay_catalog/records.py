"""What the store hands to the use cases: plain frozen records, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from modelbay_common.access import ModelAccess, Visibility

from modelbay_catalog.lifecycle import VersionState


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

    @property
    def access(self) -> ModelAccess:
        return ModelAccess(owner=self.owner, owner_org=self.owner_org, visibility=self.visibility)


@dataclass(frozen=True)
class StoredVersion:
    """A version's state with its row id, timestamps and download counts by kind."""

    id: int
    state: VersionState
    created_at: datetime
    updated_at: datetime
    downloads: dict[str, int]


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


@dataclass(frozen=True)
class SearchCriteria:
    """A model search: `q` is full text (websearch syntax); the rest are exact filters."""

    q: str | None = None
    category: str | None = None
    library: str | None = None
    owner: str | None = None
    status: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "q": self.q,
            "category": self.category,
            "library": self.library,
            "owner": self.owner,
            "status": self.status,
        }


@dataclass(frozen=True)
class SearchHit:
    model: ModelRecord
    rank: float | None
