"""The garbage collector's queries over onboarding's schema (gc.py): what each version uses."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_onboarding.orm import ResolutionRow, UploadRow

VersionKey = tuple[str, str, int]


@dataclass(frozen=True)
class VersionUse:
    """The blobs one version references, as onboarding recorded them."""

    version: VersionKey
    bundle_key: str | None = None
    lock_hash: str | None = None
    # None: resolved before the archive key was recorded (or not resolved): unknown.
    system_packages_uri: str | None = None
    system_packages_known: bool = False


class GcStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def bundle_uses(self) -> list[VersionUse]:
        rows = await self._session.execute(
            select(UploadRow.owner, UploadRow.name, UploadRow.version, UploadRow.bundle_key)
        )
        return [VersionUse((o, n, v), bundle_key=key) for o, n, v, key in rows]

    async def resolution_uses(self) -> list[VersionUse]:
        rows = await self._session.execute(
            select(
                ResolutionRow.owner,
                ResolutionRow.name,
                ResolutionRow.version,
                ResolutionRow.lock_hash,
                ResolutionRow.details,
            ).where(ResolutionRow.status == "resolved")
        )
        uses = []
        for owner, name, version, lock_hash, details in rows:
            known = isinstance(details, dict) and "system_packages_uri" in details
            uri = details.get("system_packages_uri") if known and details else None
            uses.append(
                VersionUse(
                    (owner, name, version),
                    lock_hash=lock_hash,
                    system_packages_uri=uri if isinstance(uri, str) else None,
                    system_packages_known=known,
                )
            )
        return uses
