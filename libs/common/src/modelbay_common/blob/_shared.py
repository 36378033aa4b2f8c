"""Pieces both adapters share: source iteration, hashing, verification, path helpers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import IO, Any

from modelbay_common.blob.port import (
    DEFAULT_CONTENT_TYPE,
    DEFAULT_MAX_BYTES,
    READ_CHUNK_SIZE,
    BlobInfo,
    BlobNotFoundError,
    BlobSource,
    BlobTooLargeError,
    CorruptBlobError,
    validate_key,
)


class Digest:
    """Running SHA-256 and byte count of everything passed to :meth:`update`."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


async def iterate_source(
    source: BlobSource, chunk_size: int = READ_CHUNK_SIZE
) -> AsyncIterator[bytes]:
    """Chunks of ``source``; a synchronous file is read in a worker thread, never on the loop."""
    if isinstance(source, AsyncIterable):
        async for chunk in source:
            if chunk:
                yield bytes(chunk)
        return
    while chunk := await asyncio.to_thread(source.read, chunk_size):
        yield chunk


async def verified(
    key: str, chunks: AsyncIterator[bytes], expected: BlobInfo
) -> AsyncIterator[bytes]:
    """Pass ``chunks`` through, then raise CorruptBlobError if size or SHA-256 differ."""
    digest = Digest()
    async for chunk in chunks:
        digest.update(chunk)
        if digest.size > expected.size:
            raise CorruptBlobError(key, f"more than the recorded {expected.size} bytes")
        yield chunk
    if digest.size != expected.size:
        raise CorruptBlobError(key, f"read {digest.size} bytes, recorded {expected.size}")
    actual = digest.hexdigest()
    if actual != expected.sha256:
        raise CorruptBlobError(key, f"SHA-256 is {actual}, recorded {expected.sha256}")


def partial_path_for(path: Path) -> Path:
    """A hidden sibling of ``path``: same filesystem, so the final rename is atomic."""
    return path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:12]}")


def _write_all(handle: IO[bytes], chunk: bytes) -> None:
    handle.write(chunk)


def _finish_file(handle: IO[bytes]) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


class BlobStoreHelpers:
    """Operations defined in terms of open/put/stat, mixed into both adapters."""

    # Provided by the adapter; declared for the type checker.
    def open(self, key: str) -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def _store(self, source: BlobSource, content_type: str, key: str) -> BlobInfo:
        """Stream `source` in, hashing it; store it under `key` (already validated)."""
        raise NotImplementedError

    async def put(
        self, key: str, source: BlobSource, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> BlobInfo:
        return await self._store(source, content_type, validate_key(key))

    async def stat(self, key: str) -> BlobInfo:
        raise NotImplementedError

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except BlobNotFoundError:
            return False
        return True

    async def get_bytes(self, key: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
        info = await self.stat(key)
        if info.size > max_bytes:
            raise BlobTooLargeError(key, info.size, max_bytes)
        parts = [chunk async for chunk in self.open(key)]
        return b"".join(parts)

    async def put_path(
        self, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> BlobInfo:
        handle = await asyncio.to_thread(Path(path).open, "rb")
        try:
            return await self.put(key, handle, content_type=content_type)
        finally:
            await asyncio.to_thread(handle.close)

    async def get_to_path(self, key: str, path: Path) -> BlobInfo:
        target = Path(path)
        partial = partial_path_for(target)
        digest = Digest()
        handle: IO[bytes] = await asyncio.to_thread(partial.open, "wb")
        try:
            async for chunk in self.open(key):
                digest.update(chunk)
                await asyncio.to_thread(_write_all, handle, chunk)
            await asyncio.to_thread(_finish_file, handle)
            await asyncio.to_thread(os.replace, partial, target)
        except BaseException:
            handle.close()
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        info = await self.stat(key)
        return BlobInfo(key, digest.size, digest.hexdigest(), info.content_type)


def describe(value: Any) -> str:
    """Short text for error messages built from backend exceptions."""
    text = str(value)
    return text if len(text) <= 300 else text[:297] + "..."
