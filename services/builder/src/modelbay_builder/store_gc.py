"""The artifact garbage collector's query over the builder's schema (gc.py): built images."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_builder.orm import BuildRow


@dataclass(frozen=True)
class BuiltImage:
    owner: str
    name: str
    version: int
    image_digest: str
    finished_at: datetime | None
    image_ref: str | None = None  # the tag the image carries in the builder's Docker engine


class GcStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def built_images(self) -> list[BuiltImage]:
        """Every build that pushed an image (a digest), whatever its outcome since."""
        rows = await self._session.execute(
            select(
                BuildRow.owner,
                BuildRow.name,
                BuildRow.version,
                BuildRow.image_digest,
                BuildRow.finished_at,
                BuildRow.image_ref,
            ).where(BuildRow.image_digest.is_not(None))
        )
        return [
            BuiltImage(owner, name, version, digest, finished, ref)
            for owner, name, version, digest, finished, ref in rows
            if digest is not None
        ]
