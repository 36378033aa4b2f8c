"""Blob store on a local directory, for the embedded mode and for tests.

Layout under the root directory::

    objects/<key>        the bytes
    meta/<key>.json      {"sha256", "size", "content_type"}: the commit point of a write
    tmp/                 partial writes (same filesystem, so renames are atomic)

A write streams into ``tmp/``, is fsynced, renamed into ``objects/`` and then its metadata is
renamed into ``meta/``. An object exists once its metadata does, so a crash mid-write leaves
no half object visible. Overwriting a key that readers are reading at the same moment may make
those readers fail with CorruptBlobError (new bytes, old metadata); content-addressed keys never
change content, so they are not affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from modelbay_common.blob._shared import BlobStoreHelpers, Digest, iterate_source, verified
from modelbay_common.blob.listing import ListedBlob
from modelbay_common.blob.port import (
    READ_CHUNK_SIZE,
    BlobInfo,
    BlobNotFoundError,
    BlobSource,
    BlobStoreError,
    CorruptBlobError,
    validate_key,
)


class FilesystemBlobStore(BlobStoreHelpers):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"
        self._tmp = self.root / "tmp"

    def __repr__(self) -> str:
        return f"FilesystemBlobStore({str(self.root)!r})"

    def object_path(self, key: str) -> Path:
        """Where the bytes of ``key`` live (tests corrupt objects through this)."""
        return self._objects / validate_key(key)

    def _meta_path(self, key: str) -> Path:
        return self._meta / f"{validate_key(key)}.json"

    async def ensure_ready(self) -> None:
        for directory in (self._objects, self._meta, self._tmp):
            await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)

    async def _store(self, source: BlobSource, content_type: str, key: str) -> BlobInfo:
        await self.ensure_ready()
        partial = self._tmp / uuid.uuid4().hex
        try:
            digest = await self._write_partial(source, partial)
            info = BlobInfo(key, digest.size, digest.hexdigest(), content_type)
            await asyncio.to_thread(self._commit, partial, info)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        return info

    async def _write_partial(self, source: BlobSource, partial: Path) -> Digest:
        digest = Digest()
        handle: IO[bytes] = await asyncio.to_thread(partial.open, "wb")
        try:
            async for chunk in iterate_source(source):
                digest.update(chunk)
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(handle.flush)
            await asyncio.to_thread(os.fsync, handle.fileno())
        finally:
            await asyncio.to_thread(handle.close)
        return digest

    def _commit(self, partial: Path, info: BlobInfo) -> None:
        target, meta_target = self.object_path(info.key), self._meta_path(info.key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            meta_target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise BlobStoreError(f"key {info.key!r} collides with an existing key: {exc}") from exc
        meta_partial = self._tmp / f"{partial.name}.json"
        record = {"sha256": info.sha256, "size": info.size, "content_type": info.content_type}
        meta_partial.write_text(json.dumps(record))
        os.replace(partial, target)
        # The metadata rename is the commit point: only now does the object exist.
        os.replace(meta_partial, meta_target)

    async def stat(self, key: str) -> BlobInfo:
        meta_path = self._meta_path(key)
        try:
            raw = await asyncio.to_thread(meta_path.read_text)
        except (FileNotFoundError, NotADirectoryError):
            raise BlobNotFoundError(key) from None
        try:
            record = json.loads(raw)
            return BlobInfo(key, int(record["size"]), str(record["sha256"]), record["content_type"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptBlobError(key, f"unreadable metadata file {meta_path}: {exc}") from exc

    async def open(self, key: str) -> AsyncIterator[bytes]:
        expected = await self.stat(key)
        async for chunk in verified(key, self._read_file(key), expected):
            yield chunk

    async def _read_file(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle: IO[bytes] = await asyncio.to_thread(self.object_path(key).open, "rb")
        except FileNotFoundError:
            raise CorruptBlobError(key, "metadata exists but the data file is missing") from None
        try:
            while chunk := await asyncio.to_thread(handle.read, READ_CHUNK_SIZE):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> None:
        # Metadata first: the object stops existing before its bytes go.
        for path in (self._meta_path(key), self.object_path(key)):
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(path.unlink)

    async def list_blobs(self, prefix: str) -> list[ListedBlob]:
        """Every object under `prefix` (`blob.listing.BlobLister`): its metadata file says it
        exists (a partial write has none), the data file gives size and age."""

        def collect() -> list[ListedBlob]:
            found: list[ListedBlob] = []
            for meta in sorted(self._meta.glob("**/*.json")):
                key = meta.relative_to(self._meta).as_posix().removesuffix(".json")
                if not key.startswith(prefix):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    data = self.object_path(key).stat()
                    modified = datetime.fromtimestamp(data.st_mtime, tz=UTC)
                    found.append(ListedBlob(key, data.st_size, modified))
            return found

        return await asyncio.to_thread(collect)

    async def presigned_get_url(self, key: str, expires: timedelta) -> str:
        await self.stat(key)
        return self.object_path(key).resolve().as_uri()
