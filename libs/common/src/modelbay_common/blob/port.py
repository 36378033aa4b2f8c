"""The blob-store port: what every service may ask of object storage.

Every object is stored with the SHA-256 of its bytes, computed while it streams in, and every read
checks it. Reads stream: the check can only happen once the last byte has been read, so a caller
must treat the data as untrusted until the iterator from :meth:`BlobStore.open` has finished
without raising :class:`CorruptBlobError` (write to a temporary place, then commit; or use
:meth:`BlobStore.get_to_path`, which does exactly that).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

DEFAULT_CONTENT_TYPE = "application/octet-stream"
READ_CHUNK_SIZE = 1024 * 1024
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_KEY_BYTES = 1024

# What may be handed to put(): bytes produced asynchronously, or a synchronous binary file.
BlobSource = AsyncIterable[bytes] | BinaryIO

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_FORBIDDEN_KEY_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True)
class BlobInfo:
    """What is known about a stored object; ``sha256`` is lowercase hex."""

    key: str
    size: int
    sha256: str
    content_type: str = DEFAULT_CONTENT_TYPE


class BlobStoreError(Exception):
    """Base of the blob-store errors."""


class InvalidBlobKeyError(BlobStoreError, ValueError):
    """A key that could escape its store or that S3 and filesystems disagree on."""


class BlobNotFoundError(BlobStoreError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"blob {key!r} does not exist")


class CorruptBlobError(BlobStoreError):
    """The bytes read do not match the SHA-256 (or size) recorded when the object was written."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"blob {key!r} is corrupt: {reason}")


class BlobTooLargeError(BlobStoreError):
    def __init__(self, key: str, size: int, limit: int) -> None:
        self.key, self.size, self.limit = key, size, limit
        super().__init__(f"blob {key!r} has {size} bytes, more than the {limit} allowed here")


class BlobStoreUnavailableError(BlobStoreError):
    """The storage backend could not be reached or refused the credentials."""


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object name, else raise InvalidBlobKeyError."""
    if not key or len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidBlobKeyError(f"blob key must be 1..{MAX_KEY_BYTES} bytes, got {key!r}")
    if _FORBIDDEN_KEY_CHARS.search(key):
        raise InvalidBlobKeyError(f"blob key contains control characters or '\\': {key!r}")
    segments = key.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise InvalidBlobKeyError(
            f"blob key must be relative with no empty, '.' or '..' segments: {key!r}"
        )
    return key


def validate_sha256(sha256: str) -> str:
    if not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    return sha256


class BlobStore(Protocol):
    """Object storage with integrity checks. Keys are validated with :func:`validate_key`."""

    async def ensure_ready(self) -> None:
        """Create the bucket or directory if it is missing (call once at start-up)."""

    async def put(
        self, key: str, source: BlobSource, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> BlobInfo:
        """Store ``source`` under ``key`` (replacing it), streaming with bounded memory."""

    def open(self, key: str) -> AsyncIterator[bytes]:
        """Stream the object's bytes; the last step raises CorruptBlobError on a mismatch.

        Raises BlobNotFoundError on the first iteration when the key does not exist.
        """

    async def get_bytes(self, key: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
        """The verified content of a small object (BlobTooLargeError above ``max_bytes``)."""

    async def stat(self, key: str) -> BlobInfo:
        """Size, recorded SHA-256 and content type, without reading the bytes."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""

    async def presigned_get_url(self, key: str, expires: timedelta) -> str:
        """A URL that fetches the object without credentials until ``expires`` has passed.

        The filesystem adapter returns a ``file://`` URL (no expiry). Whoever fetches through
        the URL bypasses the check on read and should compare the SHA-256 from stat().
        """

    async def put_path(
        self, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> BlobInfo:
        """Store the file at ``path``."""

    async def get_to_path(self, key: str, path: Path) -> BlobInfo:
        """Write the object to ``path``; ``path`` only appears once the data has been verified."""
