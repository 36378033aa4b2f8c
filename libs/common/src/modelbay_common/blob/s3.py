"""Blob store on S3 (MinIO in docker-compose, moto here) through the synchronous ``minio`` SDK.

Every SDK call runs in a worker thread (``asyncio.to_thread``) so the event loop never blocks.

Writes: the SHA-256 is computed while the bytes stream and stored as the object's user metadata
``x-amz-meta-sha256``. S3 needs metadata when an upload *starts*, before the hash is known, so:

* an object that fits in one part (``part_size``, 16 MiB) is read whole, hashed, and sent in one
  PUT with its metadata;
* a larger one is sent as a multipart upload (one part in memory at a time, so memory does not
  grow with the object) to a staging key
  ``<prefix>.modelbay-staging/<uuid>``, then copied server side to its real key with the
  metadata, and the staging object is deleted. The real key therefore never exists without its
  checksum, and a failed upload never replaces a good object.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from datetime import timedelta
from typing import Any, BinaryIO, TypeVar

import urllib3
from minio import Minio
from minio.commonconfig import ComposeSource
from minio.datatypes import Part
from minio.error import S3Error

from modelbay_common.blob._shared import BlobStoreHelpers, Digest, describe, verified
from modelbay_common.blob.listing import ListedBlob
from modelbay_common.blob.port import (
    DEFAULT_CONTENT_TYPE,
    READ_CHUNK_SIZE,
    BlobInfo,
    BlobNotFoundError,
    BlobSource,
    BlobStoreError,
    BlobStoreUnavailableError,
    CorruptBlobError,
    validate_key,
)

PART_SIZE = 16 * 1024 * 1024
SHA256_METADATA = "sha256"
SHA256_HEADER = "x-amz-meta-sha256"
STAGING_DIR = ".modelbay-staging"
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchObject", "ResourceNotFound", "NotFound"})
_CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken"}
)

T = TypeVar("T")


class _HashingReader:
    """A synchronous ``read()`` over a source that hashes and counts what passes through.

    Runs in the upload thread. An async source is pulled one chunk at a time from the event
    loop, so only the part being assembled by the SDK is ever in memory.
    """

    def __init__(self, source: BlobSource, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._file: BinaryIO | None = None if isinstance(source, AsyncIterable) else source
        self._chunks = aiter(source) if isinstance(source, AsyncIterable) else None
        self._pending = b""
        self.digest = Digest()

    def read(self, size: int = -1) -> bytes:
        chunk = self._read_raw(READ_CHUNK_SIZE if size < 0 else size)
        self.digest.update(chunk)
        return chunk

    def read_up_to(self, size: int, prefix: bytes = b"") -> bytes:
        """``prefix`` plus read bytes, ``size`` in all unless the source ends first."""
        parts, wanted = [prefix], size - len(prefix)
        while wanted > 0 and (chunk := self.read(wanted)):
            parts.append(chunk)
            wanted -= len(chunk)
        return b"".join(parts)

    def _read_raw(self, size: int) -> bytes:
        if self._file is not None:
            return self._file.read(size)
        if not self._pending:
            self._pending = self._next_chunk()
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk

    def _next_chunk(self) -> bytes:
        assert self._chunks is not None
        chunks = self._chunks

        async def pull() -> bytes:
            while True:
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return b""
                if chunk:
                    return bytes(chunk)

        return asyncio.run_coroutine_threadsafe(pull(), self._loop).result()


class _Parts:
    """Hands out the parts of a multipart upload one at a time, keeping no reference to a part
    once it has been taken, so at most one part (plus the one being assembled) is in memory."""

    def __init__(self, first: bytes, carry: bytes, reader: _HashingReader, part_size: int) -> None:
        self._first: bytes | None = first
        self._carry = carry
        self._reader = reader
        self._part_size = part_size

    def take(self) -> bytes:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        carry, self._carry = self._carry, b""
        return self._reader.read_up_to(self._part_size, prefix=carry)


class S3BlobStore(BlobStoreHelpers):
    def __init__(
        self, client: Minio, bucket: str, *, prefix: str = "", part_size: int = PART_SIZE
    ) -> None:
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def object_name(self, key: str) -> str:
        """The S3 object name of ``key`` (tests corrupt objects through this)."""
        return self.prefix + validate_key(key)

    async def _call(self, key: str | None, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking SDK call in a worker thread, translating its errors for ``key``."""
        try:
            return await asyncio.to_thread(function, *args)
        except S3Error as exc:
            raise _translate(key, exc) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise BlobStoreUnavailableError(f"S3 is not reachable: {describe(exc)}") from exc

    async def ensure_ready(self) -> None:
        if not await self._call(None, self._client.bucket_exists, self.bucket):
            await self._call(None, self._client.make_bucket, self.bucket)

    async def _store(self, source: BlobSource, content_type: str, key: str) -> BlobInfo:
        reader = _HashingReader(source, asyncio.get_running_loop())
        return await self._call(None, self._upload, reader, content_type, key)

    def _upload(self, reader: _HashingReader, content_type: str, key: str) -> BlobInfo:
        first = reader.read_up_to(self.part_size)
        carry = reader.read_up_to(1)
        if not carry:
            info = self._info(reader, key, content_type)
            self._client.put_object(
                self.bucket,
                self.object_name(info.key),
                io.BytesIO(first),
                len(first),
                content_type=content_type,
                metadata={SHA256_METADATA: info.sha256},
            )
            return info
        parts = _Parts(first, carry, reader, self.part_size)
        del first  # _Parts owns the first part now and drops it once uploaded
        staging = f"{self.prefix}{STAGING_DIR}/{uuid.uuid4().hex}"
        try:
            self._upload_parts(staging, parts, content_type)
            info = self._info(reader, key, content_type)
            self._client.compose_object(
                self.bucket,
                self.object_name(info.key),
                [ComposeSource(self.bucket, staging)],
                metadata={"Content-Type": content_type, SHA256_METADATA: info.sha256},
            )
        finally:
            self._client.remove_object(self.bucket, staging)
        return info

    def _upload_parts(self, staging: str, parts: _Parts, content_type: str) -> None:
        # The SDK's put_object() with an unknown length keeps up to four parts alive at once
        # (measured: ~90 MiB RSS growth with 16 MiB parts), so the multipart calls are driven
        # here, one part in memory at a time. These methods are private in minio-py but have
        # been stable throughout 7.x; the SDK is pinned below 8 for that reason.
        client = self._client
        upload_id = client._create_multipart_upload(
            self.bucket, staging, {"Content-Type": content_type}
        )
        try:
            uploaded: list[Part] = []
            while data := parts.take():
                number = len(uploaded) + 1
                etag = client._upload_part(self.bucket, staging, data, None, upload_id, number)
                uploaded.append(Part(number, etag))
                del data  # release this part before the next one is assembled
            client._complete_multipart_upload(self.bucket, staging, upload_id, uploaded)
        except BaseException:
            client._abort_multipart_upload(self.bucket, staging, upload_id)
            raise

    @staticmethod
    def _info(reader: _HashingReader, key: str, content_type: str) -> BlobInfo:
        sha256 = reader.digest.hexdigest()
        return BlobInfo(validate_key(key), reader.digest.size, sha256, content_type)

    async def stat(self, key: str) -> BlobInfo:
        name = self.object_name(key)
        found = await self._call(key, self._client.stat_object, self.bucket, name)
        sha256 = (found.metadata or {}).get(SHA256_HEADER)
        if not sha256:
            raise CorruptBlobError(key, "the object has no recorded SHA-256")
        content_type = found.content_type or DEFAULT_CONTENT_TYPE
        return BlobInfo(key, int(found.size or 0), str(sha256), content_type)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        expected = await self.stat(key)
        async for chunk in verified(key, self._read_object(key), expected):
            yield chunk

    async def _read_object(self, key: str) -> AsyncIterator[bytes]:
        name = self.object_name(key)
        response = await self._call(key, self._client.get_object, self.bucket, name)
        try:
            while chunk := await self._call(key, response.read, READ_CHUNK_SIZE):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        # S3 deletes are idempotent: a missing key answers 204 like a present one.
        await self._call(key, self._client.remove_object, self.bucket, self.object_name(key))

    async def list_blobs(self, prefix: str) -> list[ListedBlob]:
        """Every object under `prefix` (`blob.listing.BlobLister`; the garbage collector's)."""
        name = self.prefix + prefix

        def collect() -> list[ListedBlob]:
            found = self._client.list_objects(self.bucket, prefix=name, recursive=True)
            return [
                ListedBlob(obj.object_name[len(self.prefix) :], obj.size or 0, obj.last_modified)
                for obj in found
                if obj.object_name and obj.last_modified and not obj.is_dir
            ]

        return await self._call(None, collect)

    async def presigned_get_url(self, key: str, expires: timedelta) -> str:
        name = self.object_name(key)
        return await self._call(key, self._client.presigned_get_object, self.bucket, name, expires)


def _translate(key: str | None, exc: S3Error) -> BlobStoreError:
    if key is not None and exc.code in _NOT_FOUND_CODES:
        return BlobNotFoundError(key)
    if exc.code in _CREDENTIAL_CODES:
        return BlobStoreUnavailableError(f"S3 refused the credentials ({exc.code}): {exc.message}")
    where = f" for {key!r}" if key else ""
    return BlobStoreError(f"S3 error{where}: {describe(exc)}")
