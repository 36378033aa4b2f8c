"""Spooling an upload: the body streams to a temporary file while it is hashed and counted.

The body is never held whole in memory; the size limit is enforced chunk by chunk, so a client
sending too much is stopped (413) as soon as it passes the limit, not after the whole transfer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from modelbay_common.scratch import owned_prefix

from modelbay_onboarding.debris import UPLOAD_BASE
from modelbay_onboarding.errors import CorruptArchive, UploadTooLarge

# Writes are batched to ~1 MiB so a body of small ASGI chunks does not cost a thread hop each.
_WRITE_BATCH = 1024 * 1024


@dataclass(frozen=True)
class SpooledUpload:
    path: Path
    size: int
    sha256: str


def _describe_limit(limit: int) -> str:
    return f"{limit / 1024**3:.2f} GiB" if limit >= 1024**3 else f"{limit} bytes"


def check_declared_length(content_length: str | None, limit: int) -> None:
    """Refuse early when the client announces a body over the limit (no byte is read)."""
    if content_length is None or not content_length.isdigit():
        return
    if int(content_length) > limit:
        raise UploadTooLarge(
            f"the bundle has {content_length} bytes, more than the {_describe_limit(limit)} "
            "this server accepts; make the model smaller or ask the operator to raise "
            "MODELBAY_ONBOARDING_MAX_UPLOAD_BYTES",
            extensions={"limit_bytes": limit},
        )


@contextlib.asynccontextmanager
async def spooled(
    body: AsyncIterable[bytes], *, limit: int, directory: Path | None = None
) -> AsyncIterator[SpooledUpload]:
    """Spool `body` to a temporary file that exists only inside the block."""
    handle = await asyncio.to_thread(
        tempfile.NamedTemporaryFile,
        "wb",
        prefix=owned_prefix(UPLOAD_BASE),  # swept by a successor if this process dies
        suffix=".tar.gz",
        dir=directory,
        delete=False,
    )
    path = Path(handle.name)
    try:
        size, sha256 = await _copy_body(body, handle, limit)
        await asyncio.to_thread(handle.close)
        if size == 0:
            raise CorruptArchive("the request body is empty: send the bundle archive (.tar.gz)")
        yield SpooledUpload(path=path, size=size, sha256=sha256)
    finally:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.unlink, path)


async def _copy_body(body: AsyncIterable[bytes], handle: IO[bytes], limit: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    pending: list[bytes] = []
    pending_size = 0
    async for chunk in body:
        if not chunk:
            continue
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge(
                f"the bundle is larger than the {_describe_limit(limit)} this server accepts; "
                "make the model smaller or ask the operator to raise "
                "MODELBAY_ONBOARDING_MAX_UPLOAD_BYTES",
                extensions={"limit_bytes": limit},
            )
        digest.update(chunk)
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= _WRITE_BATCH:
            await asyncio.to_thread(handle.write, b"".join(pending))
            pending, pending_size = [], 0
    if pending:
        await asyncio.to_thread(handle.write, b"".join(pending))
    return size, digest.hexdigest()
