"""Onboarding's artifact garbage collection: bundles, wheelhouses, ELF scans and `.deb` archives.

Mark: every blob a version not in the catalog's dead list references (onboarding's own upload and
resolution records), plus what the catalog says its live versions reference (mirrored models
have no upload here). Sweep: every blob under the four folders that is unmarked and older than
the grace period — the grace keeps what a resolver or an upload is writing right now, before its
row exists. Wheelhouses and `.deb` archives are content-addressed and shared by many versions:
one live user keeps them. A resolution recorded before the `.deb` archive key was kept makes
every `.deb` archive count as used (unknown is never garbage).

Content addressing means a new upload or resolution may *reuse* an old blob (it checks the blob
exists and writes nothing). The mark is therefore taken twice, the second time right before the
deletes, so a reuse committed while the listing ran keeps its blob; what remains is the window
between a reuse's existence check and its commit (milliseconds, against a sweep that runs once a
day), documented in docs/operations.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from modelbay_common.blob import BlobStore
from modelbay_common.blob.keys import bundle_key, wheelhouse_key, wheelhouse_libraries_key
from modelbay_common.blob.listing import BlobLister, ListedBlob
from modelbay_common.contracts.gc import ArtifactGcKind, GcReport, GcRequest, ReclaimedArtifact
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_onboarding.store_gc import GcStore, VersionKey, VersionUse

log = logging.getLogger(__name__)

SERVICE = "onboarding"
FOLDERS: dict[ArtifactGcKind, str] = {
    "bundle": "bundles/",
    "wheelhouse": "wheelhouses/",
    "system-libraries": "system-libraries/",
    "system-packages": "system-packages/",
}


@dataclass
class Marks:
    keys: set[str] = field(default_factory=set)
    every_system_package: bool = False


def _mark(uses: list[VersionUse], dead: set[VersionKey], request: GcRequest) -> Marks:
    marks = Marks()
    for sha256 in request.live_bundle_sha256:
        marks.keys.add(bundle_key(sha256))
    for lock_hash in request.live_lock_hashes:
        marks.keys.update((wheelhouse_key(lock_hash), wheelhouse_libraries_key(lock_hash)))
    for use in uses:
        if use.version in dead:
            continue
        if use.bundle_key:
            marks.keys.add(use.bundle_key)
        if use.lock_hash:
            marks.keys.update(
                (wheelhouse_key(use.lock_hash), wheelhouse_libraries_key(use.lock_hash))
            )
        if use.lock_hash and not use.system_packages_known:
            marks.every_system_package = True
        if use.system_packages_uri:
            marks.keys.add(use.system_packages_uri)
    return marks


def _unmarked(kind: ArtifactGcKind, blob: ListedBlob, marks: Marks) -> bool:
    if kind == "system-packages" and marks.every_system_package:
        return False
    return blob.key not in marks.keys


async def _marks(session: AsyncSession, dead: set[VersionKey], request: GcRequest) -> Marks:
    store = GcStore(session)
    return _mark(await store.bundle_uses() + await store.resolution_uses(), dead, request)


async def collect_garbage(
    blobs: BlobStore, session: AsyncSession, request: GcRequest, *, now: datetime
) -> GcReport:
    """One mark-and-sweep; deletes nothing when `request.dry_run`."""
    if not isinstance(blobs, BlobLister):
        raise TypeError(f"{blobs!r} cannot list its objects: no garbage collection")
    dead = {(d.owner, d.name, d.version) for d in request.dead}
    marks = await _marks(session, dead, request)
    cutoff = now - timedelta(seconds=request.grace_seconds)
    report = GcReport(service=SERVICE, dry_run=request.dry_run, reclaimed=[], kept_young=0)
    candidates: list[tuple[ArtifactGcKind, ListedBlob]] = []
    for kind, folder in FOLDERS.items():
        for blob in await blobs.list_blobs(folder):
            if not _unmarked(kind, blob, marks):
                continue
            if blob.modified > cutoff:
                report.kept_young += 1
                continue
            candidates.append((kind, blob))
    # Mark again right before deleting (READ COMMITTED: this sees rows committed since): an
    # upload or resolution that reused an existing blob while the listing ran keeps it.
    remarked = await _marks(session, dead, request) if candidates else marks
    for kind, blob in candidates:
        if not _unmarked(kind, blob, remarked):
            continue
        if not request.dry_run:
            try:
                await blobs.delete(blob.key)
            except Exception as exc:  # one stuck object must not stop the sweep
                log.warning("gc: could not delete %s: %s", blob.key, exc)
                report.errors.append(f"{blob.key}: {exc}")
                continue
        report.reclaimed.append(ReclaimedArtifact(kind=kind, key=blob.key, size=blob.size))
    log.info(
        "gc %s: %d artifacts, %d bytes%s",
        "dry run" if request.dry_run else "sweep",
        len(report.reclaimed),
        report.bytes_reclaimed,
        f", {len(report.errors)} errors" if report.errors else "",
    )
    return report
