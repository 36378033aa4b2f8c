"""The resolver's system-library step: scan the lock's wheels, plan packages, store the `.deb`s.

The scan of a lock (`{soname: [distribution]}`) is stored next to its wheelhouse
(`wheelhouse_libraries_key`), so a lock-cache hit, which never downloads wheels, reuses it; a
wheelhouse stored before scans existed is fetched and scanned once. The `.deb` files of a plan
are packed like a wheelhouse (sorted members, zeroed metadata) and stored once under a key
derived from the suite and the `name=version` list (`system_packages_key`).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from modelbay_common.blob import BlobNotFoundError, BlobStore
from modelbay_common.blob.keys import (
    system_packages_key,
    wheelhouse_key,
    wheelhouse_libraries_key,
)
from modelbay_common.events.pipeline import SystemPackage

from modelbay_onboarding.settings import OnboardingSettings
from modelbay_onboarding.system_libraries.planner import SystemPackagePlan, SystemPackagePlanner
from modelbay_onboarding.system_libraries.wheel_scan import (
    needs_from_json,
    needs_to_json,
    scan_directory,
)

PACKAGES_FILE = "system-packages.txt"


@dataclass(frozen=True)
class SystemPackages:
    """What `DependenciesResolved` carries about system packages."""

    packages: tuple[SystemPackage, ...] = ()
    uri: str | None = None


class SystemLibraryStage:
    def __init__(self, settings: OnboardingSettings, blobs: BlobStore) -> None:
        self._planner = SystemPackagePlanner(settings)
        self._blobs = blobs

    async def resolve(
        self,
        *,
        lock_hash: str,
        wheels: Path | None,
        workdir: Path,
        declared: Iterable[str],
        python_version: str,
    ) -> SystemPackages:
        """Raises ResolutionError (the contributor's) or ResolverUnavailableError (retried)."""
        needs = await self._needs(lock_hash, wheels, workdir)
        plan = await self._planner.plan(needs, declared, python_version)
        if plan is None:
            return SystemPackages()
        uri = await self._store_debs(plan, workdir) if plan.fetched else None
        return SystemPackages(plan.packages, uri)

    async def _needs(
        self, lock_hash: str, wheels: Path | None, workdir: Path
    ) -> dict[str, tuple[str, ...]]:
        key = wheelhouse_libraries_key(lock_hash)
        if wheels is None:
            try:
                return needs_from_json(json.loads(await self._blobs.get_bytes(key)))
            except (BlobNotFoundError, ValueError):
                wheels = await self._unpacked_wheelhouse(lock_hash, workdir)
        needs = await asyncio.to_thread(scan_directory, wheels)
        body = json.dumps(needs_to_json(needs), sort_keys=True).encode()
        await self._blobs.put(key, io.BytesIO(body), content_type="application/json")
        return needs

    async def _unpacked_wheelhouse(self, lock_hash: str, workdir: Path) -> Path:
        archive = workdir / "stored-wheelhouse.tar"
        await self._blobs.get_to_path(wheelhouse_key(lock_hash), archive)
        target = workdir / "stored-wheels"
        target.mkdir(exist_ok=True)

        def unpack() -> None:
            with tarfile.open(archive) as tar:
                for member in tar:
                    name = Path(member.name).name
                    if member.isfile() and name.endswith(".whl"):
                        source = tar.extractfile(member)
                        if source is not None:
                            with source, (target / name).open("wb") as out:
                                while chunk := source.read(1024 * 1024):
                                    out.write(chunk)

        await asyncio.to_thread(unpack)
        return target

    async def _store_debs(self, plan: SystemPackagePlan, workdir: Path) -> str:
        listing = "".join(f"{p.name}={p.version}\n" for p in plan.fetched)
        digest = hashlib.sha256(f"suite={plan.suite}\n{listing}".encode()).hexdigest()
        key = system_packages_key(digest)
        try:
            await self._blobs.stat(key)
            return key
        except BlobNotFoundError:
            pass
        archive = workdir / f"system-packages-{digest[:16]}.tar"
        await asyncio.to_thread(_write_archive, archive, plan.debs, listing)
        try:
            await self._blobs.put_path(key, archive, content_type="application/x-tar")
        finally:
            archive.unlink(missing_ok=True)
        return key


def _write_archive(out: Path, debs: Iterable[Path], listing: str) -> None:
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        data = listing.encode()
        tar.addfile(_info(PACKAGES_FILE, len(data)), io.BytesIO(data))
        for deb in sorted(debs, key=lambda path: path.name):
            with deb.open("rb") as stream:
                tar.addfile(_info(deb.name, deb.stat().st_size), stream)


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info
