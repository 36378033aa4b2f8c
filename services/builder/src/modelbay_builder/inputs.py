"""Fetching a build's inputs from the blob store and unpacking them into a work directory.

Both objects are read through the blob store, which checks their SHA-256 (and the bundle's is
compared with the one the event carries). Archives are unpacked defensively even though
onboarding validated them: only regular files with safe relative paths are taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tarfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from modelbay_common.blob import BlobNotFoundError, BlobStore, BlobStoreError
from modelbay_common.scratch import owned_prefix

from modelbay_builder.build_log import BuildLog
from modelbay_builder.debris import SCRATCH_BASE, builds_directory
from modelbay_builder.errors import BuildStepFailed
from modelbay_builder.records import BuildRequest

MANIFEST = "manifest.json"
PROTO = "model.proto"
SCHEMAS = "schemas.json"


@dataclass(frozen=True)
class BundleFiles:
    """An unpacked bundle: its files and the parts the builder reads itself."""

    root: Path
    files: tuple[tuple[str, Path], ...]  # (relative posix path, file), sorted
    manifest: dict[str, Any]
    proto_text: str
    schemas: dict[str, Any]


def blob_key(uri: str) -> str:
    """Events carry blob keys (`bundles/sha256/<hex>.tar.gz`); `blob:` prefixes are tolerated."""
    return uri.removeprefix("blob://").removeprefix("blob:")


async def fetch_verified(blobs: BlobStore, uri: str, target: Path) -> str:
    """Download `uri` to `target` (verified by the store); return the SHA-256 it recorded."""
    key = blob_key(uri)
    try:
        info = await blobs.get_to_path(key, target)
    except BlobNotFoundError:
        raise BuildStepFailed(f"the build input {key} is missing from the blob store") from None
    except BlobStoreError as exc:
        raise BuildStepFailed(f"could not read {key} from the blob store: {exc}") from exc
    return info.sha256


@contextlib.asynccontextmanager
async def scratch_directory(work_dir: Path, request: BuildRequest) -> AsyncIterator[Path]:
    """A fresh directory for one build's downloads and context, removed whatever happens."""
    # Named after this process, so a successor sweeps it if this builder is killed (debris.py).
    name = f"{owned_prefix(SCRATCH_BASE)}{request.subject_slug}-{uuid.uuid4().hex[:8]}"
    work = builds_directory(work_dir) / name
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


async def fetch_bundle_archive(
    blobs: BlobStore, request: BuildRequest, work: Path, log: BuildLog
) -> Path:
    """Download the bundle archive into `work`, refusing one whose SHA-256 is not the event's."""
    log.line(f"fetching the bundle {request.bundle_uri}")
    archive = work / "bundle.tar.gz"
    sha256 = await fetch_verified(blobs, request.bundle_uri, archive)
    if sha256 != request.bundle_sha256:
        raise BuildStepFailed(
            f"the stored bundle has SHA-256 {sha256}, the event announced {request.bundle_sha256}"
        )
    return archive


def unpack_bundle(archive: Path, target: Path) -> BundleFiles:
    """Unpack the bundle `.tar.gz` into `target` and read its manifest, proto and schemas."""
    files = _extract_regular_files(archive, target, mode="r:gz")
    names = {relative for relative, _ in files}
    if MANIFEST not in names:
        raise BuildStepFailed(f"the bundle has no {MANIFEST}")
    manifest = _read_json(target / MANIFEST)
    if not isinstance(manifest, dict):
        raise BuildStepFailed(f"the bundle's {MANIFEST} is not a JSON object")
    proto = (target / PROTO).read_text("utf-8") if PROTO in names else ""
    schemas = _read_json(target / SCHEMAS) if SCHEMAS in names else {}
    return BundleFiles(
        root=target,
        files=tuple(files),
        manifest=manifest,
        proto_text=proto,
        schemas=schemas if isinstance(schemas, dict) else {},
    )


def unpack_wheels(archive: Path, target: Path) -> list[Path]:
    """The `.whl` files of a wheelhouse tar, flattened into `target`, sorted by name."""
    files = _extract_regular_files(archive, target, mode="r:")
    wheels = sorted((path for _, path in files if path.name.endswith(".whl")), key=_name)
    if not wheels:
        raise BuildStepFailed("the wheelhouse holds no wheels")
    return wheels


def unpack_debs(archive: Path, target: Path) -> list[Path]:
    """The `.deb` files of a system-package archive (resolver's), flattened, sorted by name."""
    files = _extract_regular_files(archive, target, mode="r:")
    debs = sorted((path for _, path in files if path.name.endswith(".deb")), key=_name)
    if not debs:
        raise BuildStepFailed("the system-package archive holds no .deb files")
    return debs


def _name(path: Path) -> str:
    return path.name


def _extract_regular_files(archive: Path, target: Path, *, mode: str) -> list[tuple[str, Path]]:
    target.mkdir(parents=True, exist_ok=True)
    extracted: list[tuple[str, Path]] = []
    try:
        with tarfile.open(archive, mode) as tar:  # type: ignore[call-overload]
            for member in tar:
                if not member.isfile():
                    continue  # directories are implied; links and devices are never taken
                relative = _safe_member_name(member.name)
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    continue
                with source, destination.open("wb") as out:
                    while chunk := source.read(1024 * 1024):
                        out.write(chunk)
                extracted.append((relative, destination))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BuildStepFailed(f"{archive.name} is not a readable archive: {exc}") from exc
    return sorted(extracted)


def _safe_member_name(name: str) -> str:
    path = PurePosixPath(name)
    parts = [part for part in path.parts if part not in ("", ".")]
    if path.is_absolute() or ".." in parts or not parts:
        raise BuildStepFailed(f"archive member {name!r} has an unsafe path")
    return "/".join(parts)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise BuildStepFailed(f"{path.name} in the bundle is not valid JSON: {exc}") from exc
