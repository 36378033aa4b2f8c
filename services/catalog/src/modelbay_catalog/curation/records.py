"""What the curation store hands to the use cases: plain frozen records, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from modelbay_common.access import Visibility


@dataclass(frozen=True)
class AliasRecord:
    alias: str
    version: int
    moved_by: str | None  # None for `latest`
    moved_at: datetime | None

    @property
    def automatic(self) -> bool:
        return self.moved_by is None


@dataclass(frozen=True)
class PublishRequestRecord:
    id: int
    model_id: int
    owner: str
    name: str
    version: int
    visibility: Visibility
    description: str
    category: str
    license: str
    tags: tuple[str, ...] | None
    status: str  # pending, approved, declined
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
