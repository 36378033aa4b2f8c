"""Filesystem blob store on temporary directories: the same guarantees as the S3 adapter.

The 200 MB round trip runs in a fresh Python process (this file run as a script) that resets its
peak-RSS mark just before the round trip, so the growth is measured from a clean high-water mark.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from modelbay_common.blob import (
    BlobInfo,
    BlobNotFoundError,
    BlobTooLargeError,
    CorruptBlobError,
    InvalidBlobKeyError,
    open_blob_store,
)
from modelbay_common.blob.filesystem import FilesystemBlobStore
from modelbay_common.blob.keys import bundle_key

ROUND_TRIP_BYTES = 200 * 1024 * 1024
RSS_GROWTH_LIMIT = 64 * 1024 * 1024
CHUNK = 1024 * 1024


async def generated(size: int, seed: int, digest: Any) -> AsyncIterator[bytes]:
    rng = random.Random(seed)
    remaining = size
    while remaining:
        chunk = rng.randbytes(min(CHUNK, remaining))
        digest.update(chunk)
        remaining -= len(chunk)
        yield chunk


def _proc_status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024  # reported in kB
    raise LookupError(field)


def _start_peak_measurement() -> int:
    """Reset the peak-RSS mark to the current RSS and return that RSS.

    VmHWM (the high-water mark of this process image) is used instead of ru_maxrss: ru_maxrss
    survives exec, so in a child it also counts the parent's memory at fork time.
    """
    Path("/proc/self/clear_refs").write_text("5")  # 5 = reset the peak RSS to the current RSS
    return _proc_status_bytes("VmRSS")


def _peak_rss_bytes() -> int:
    return _proc_status_bytes("VmHWM")


async def _round_trip_in_child(blob_url: str, size: int) -> dict[str, Any]:
    store = open_blob_store(blob_url)
    await store.ensure_ready()
    await store.put("warmup", generated(3 * CHUNK, 1, hashlib.sha256()))
    await store.get_bytes("warmup")
    baseline = _start_peak_measurement()

    written, read_back = hashlib.sha256(), hashlib.sha256()
    info = await store.put("big.bin", generated(size, 42, written))
    async for chunk in store.open("big.bin"):
        read_back.update(chunk)
    return {
        "rss_growth": _peak_rss_bytes() - baseline,
        "generated_sha256": written.hexdigest(),
        "stored": {"size": info.size, "sha256": info.sha256},
        "read_sha256": read_back.hexdigest(),
    }


@pytest.fixture
async def store(tmp_path: Path) -> FilesystemBlobStore:
    opened = open_blob_store((tmp_path / "blobs").as_uri())
    assert isinstance(opened, FilesystemBlobStore)
    await opened.ensure_ready()
    return opened


@pytest.mark.slow
async def test_200_mb_round_trip_verifies_checksum_with_bounded_memory(tmp_path: Path) -> None:
    child = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, __file__, (tmp_path / "blobs").as_uri(), str(ROUND_TRIP_BYTES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)

    print(f"200 MB filesystem round trip: peak RSS growth {report['rss_growth'] / 2**20:.1f} MiB")
    assert report["stored"] == {"size": ROUND_TRIP_BYTES, "sha256": report["generated_sha256"]}
    assert report["read_sha256"] == report["generated_sha256"]
    assert report["rss_growth"] < RSS_GROWTH_LIMIT


async def test_flipped_byte_on_disk_is_detected_on_read(store: FilesystemBlobStore) -> None:
    await store.put("models/iris/bundle.tar", io.BytesIO(b"genuine" * 100_000))
    path = store.object_path("models/iris/bundle.tar")
    with path.open("r+b") as handle:  # same size, one byte changed
        handle.seek(123_456)
        handle.write(b"X")

    with pytest.raises(CorruptBlobError, match=r"models/iris/bundle\.tar.*SHA-256") as caught:
        async for _ in store.open("models/iris/bundle.tar"):
            pass
    assert caught.value.key == "models/iris/bundle.tar"


async def test_truncated_file_is_detected_on_read(store: FilesystemBlobStore) -> None:
    await store.put("a.bin", io.BytesIO(b"0123456789"))
    store.object_path("a.bin").write_bytes(b"01234")

    with pytest.raises(CorruptBlobError, match="read 5 bytes, recorded 10"):
        await store.get_bytes("a.bin")


async def test_corrupt_download_never_appears_at_the_target_path(
    store: FilesystemBlobStore, tmp_path: Path
) -> None:
    await store.put("w.tar", io.BytesIO(b"a" * 5000))
    store.object_path("w.tar").write_bytes(b"b" * 5000)
    target = tmp_path / "out" / "w.tar"
    target.parent.mkdir()

    with pytest.raises(CorruptBlobError):
        await store.get_to_path("w.tar", target)
    assert list(target.parent.iterdir()) == []


async def test_put_stat_get_and_delete(store: FilesystemBlobStore, tmp_path: Path) -> None:
    payload = b'{"name": "iris"}'
    source = tmp_path / "manifest.json"
    source.write_bytes(payload)

    info = await store.put_path("m/manifest.json", source, content_type="application/json")

    expected = BlobInfo(
        "m/manifest.json", len(payload), hashlib.sha256(payload).hexdigest(), "application/json"
    )
    assert info == expected
    assert await store.stat("m/manifest.json") == expected
    assert await store.exists("m/manifest.json")
    assert await store.get_bytes("m/manifest.json") == payload
    with pytest.raises(BlobTooLargeError):
        await store.get_bytes("m/manifest.json", max_bytes=4)
    url = await store.presigned_get_url("m/manifest.json", timedelta(minutes=1))
    assert url == store.object_path("m/manifest.json").resolve().as_uri()

    await store.delete("m/manifest.json")
    await store.delete("m/manifest.json")  # idempotent
    assert not await store.exists("m/manifest.json")
    with pytest.raises(BlobNotFoundError):
        await store.stat("m/manifest.json")
    with pytest.raises(BlobNotFoundError):
        async for _ in store.open("m/manifest.json"):
            pass


async def test_overwrite_replaces_content_and_checksum(store: FilesystemBlobStore) -> None:
    await store.put("k", io.BytesIO(b"first"))
    second = await store.put("k", io.BytesIO(b"second version"))

    assert await store.get_bytes("k") == b"second version"
    assert (await store.stat("k")).sha256 == second.sha256


async def test_a_bundle_is_stored_under_the_shared_key_of_its_sha256(
    store: FilesystemBlobStore,
) -> None:
    # Onboarding hashes the upload while spooling it, then stores it under keys.bundle_key.
    expected = hashlib.sha256()
    chunks = [chunk async for chunk in generated(5 * CHUNK, 3, expected)]
    key = bundle_key(expected.hexdigest())
    info = await store.put(key, io.BytesIO(b"".join(chunks)))

    assert info.key == key == f"bundles/sha256/{expected.hexdigest()}.tar.gz"
    assert info.sha256 == expected.hexdigest()
    assert (await store.stat(key)).size == 5 * CHUNK


async def test_failed_source_leaves_nothing_behind(store: FilesystemBlobStore) -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("upload.bin", failing())
    assert not await store.exists("upload.bin")
    assert not store.object_path("upload.bin").exists()
    assert os.listdir(store.root / "tmp") == []


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "..", "./a", "a\\b", "a\nb", "x/"])
async def test_unsafe_keys_are_rejected(store: FilesystemBlobStore, key: str) -> None:
    with pytest.raises(InvalidBlobKeyError):
        await store.put(key, io.BytesIO(b"x"))


def _main(argv: list[str]) -> None:
    blob_url, size = argv
    print(json.dumps(asyncio.run(_round_trip_in_child(blob_url, int(size)))))


if __name__ == "__main__":
    _main(sys.argv[1:])
