"""S3 blob store against the real S3 server (moto with authentication) from `make services-up`.

The 200 MB round trip runs in a fresh Python process (this file run as a script) so that its
peak RSS (a high-water mark) is not inflated by whatever the test process did before; the child
resets its peak-RSS mark just before the round trip and reports the growth as JSON.
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
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

ROUND_TRIP_BYTES = 200 * 1024 * 1024
RSS_GROWTH_LIMIT = 64 * 1024 * 1024
CHUNK = 1024 * 1024


def _with_prefix(blob_url: str, prefix: str) -> str:
    """The services' blob URL, narrowed to a key prefix of our own (parallel runs share it)."""
    base, _, query = blob_url.partition("?")
    return f"{base.rstrip('/')}/{prefix}" + (f"?{query}" if query else "")


async def generated(size: int, seed: int, digest: Any) -> AsyncIterator[bytes]:
    """Pseudo-random bytes, produced a chunk at a time and never held whole."""
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


async def _round_trip_in_child(blob_url: str, key: str, size: int) -> dict[str, Any]:
    from modelbay_common.blob import open_blob_store

    store = open_blob_store(blob_url)
    await store.ensure_ready()
    # Warm up (SDK imports, connection pool, thread pool) before taking the baseline.
    await store.put(f"{key}.warmup", generated(3 * CHUNK, 1, hashlib.sha256()))
    await store.get_bytes(f"{key}.warmup")
    await store.delete(f"{key}.warmup")
    baseline = _start_peak_measurement()

    written = hashlib.sha256()
    info = await store.put(key, generated(size, 42, written))
    read_back, read_size = hashlib.sha256(), 0
    async for chunk in store.open(key):
        read_back.update(chunk)
        read_size += len(chunk)
    return {
        "rss_growth": _peak_rss_bytes() - baseline,
        "generated_sha256": written.hexdigest(),
        "stored": {"size": info.size, "sha256": info.sha256},
        "stat_sha256": (await store.stat(key)).sha256,
        "read_sha256": read_back.hexdigest(),
        "read_size": read_size,
    }


@pytest.fixture
def blob_url(s3_services: Any) -> str:
    return _with_prefix(s3_services.blob_url, f"test-blob-s3-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def store(blob_url: str, minio_client: Any) -> AsyncIterator[Any]:
    from modelbay_common.blob import open_blob_store
    from modelbay_common.blob.s3 import S3BlobStore

    opened = open_blob_store(blob_url)
    assert isinstance(opened, S3BlobStore)
    await opened.ensure_ready()
    yield opened
    # moto keeps objects in memory and the server is shared: leave nothing behind.
    for found in minio_client.list_objects(opened.bucket, opened.prefix, recursive=True):
        minio_client.remove_object(opened.bucket, found.object_name)


@pytest.fixture
def minio_client(s3_services: Any) -> Any:
    from minio import Minio

    return Minio(
        s3_services.s3_endpoint,
        access_key=s3_services.s3_access_key,
        secret_key=s3_services.s3_secret_key,
        secure=False,
        region="us-east-1",
    )


@pytest.mark.slow
async def test_200_mb_round_trip_verifies_checksum_with_bounded_memory(
    blob_url: str, store: Any
) -> None:
    key = "big/object.bin"
    try:
        child = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, __file__, blob_url, key, str(ROUND_TRIP_BYTES)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert child.returncode == 0, child.stderr
        report = json.loads(child.stdout)
    finally:
        await store.delete(key)

    print(f"200 MB S3 round trip: peak RSS growth {report['rss_growth'] / 2**20:.1f} MiB")
    assert report["stored"] == {"size": ROUND_TRIP_BYTES, "sha256": report["generated_sha256"]}
    assert report["stat_sha256"] == report["generated_sha256"]
    assert report["read_size"] == ROUND_TRIP_BYTES
    assert report["read_sha256"] == report["generated_sha256"]
    assert report["rss_growth"] < RSS_GROWTH_LIMIT


async def test_overwritten_bytes_are_detected_on_read(store: Any, minio_client: Any) -> None:
    from modelbay_common.blob import CorruptBlobError

    info = await store.put("model/bundle.tar", io.BytesIO(b"genuine bundle bytes" * 1000))
    tampered = b"tampered bundle byte" * 1000  # same length, different content
    # Bit rot or tampering behind the store's back: new bytes, the old recorded checksum.
    minio_client.put_object(
        store.bucket,
        store.object_name("model/bundle.tar"),
        io.BytesIO(tampered),
        len(tampered),
        metadata={"sha256": info.sha256},
    )

    with pytest.raises(CorruptBlobError, match=r"model/bundle\.tar") as caught:
        async for _ in store.open("model/bundle.tar"):
            pass
    assert caught.value.key == "model/bundle.tar"
    assert "SHA-256" in caught.value.reason
    with pytest.raises(CorruptBlobError):
        await store.get_bytes("model/bundle.tar")


async def test_object_without_recorded_checksum_is_not_trusted(
    store: Any, minio_client: Any
) -> None:
    from modelbay_common.blob import CorruptBlobError

    minio_client.put_object(
        store.bucket, store.object_name("foreign.bin"), io.BytesIO(b"x" * 10), 10
    )
    with pytest.raises(CorruptBlobError, match="no recorded SHA-256"):
        await store.get_bytes("foreign.bin")


async def test_corrupt_download_never_appears_at_the_target_path(
    store: Any, minio_client: Any, tmp_path: Path
) -> None:
    from modelbay_common.blob import CorruptBlobError

    info = await store.put("wheelhouse.tar", io.BytesIO(b"a" * 4096))
    minio_client.put_object(
        store.bucket,
        store.object_name("wheelhouse.tar"),
        io.BytesIO(b"b" * 4096),
        4096,
        metadata={"sha256": info.sha256},
    )
    target = tmp_path / "wheelhouse.tar"
    with pytest.raises(CorruptBlobError):
        await store.get_to_path("wheelhouse.tar", target)
    assert not target.exists()
    assert await asyncio.to_thread(os.listdir, tmp_path) == []


async def test_multipart_object_keeps_metadata_and_leaves_no_staging_object(
    store: Any, minio_client: Any
) -> None:
    digest = hashlib.sha256()
    size = 2 * store.part_size + 123  # three parts
    info = await store.put(
        "parts.bin", generated(size, 7, digest), content_type="application/x-tar"
    )

    assert info.size == size
    assert info.sha256 == digest.hexdigest()
    assert await store.stat("parts.bin") == info
    names = [
        obj.object_name
        for obj in minio_client.list_objects(store.bucket, store.prefix, recursive=True)
    ]
    assert names == [store.object_name("parts.bin")]


async def test_small_object_operations(store: Any, s3_services: Any, tmp_path: Path) -> None:
    from modelbay_common.blob import BlobNotFoundError
    from modelbay_common.blob.keys import bundle_key

    source = tmp_path / "manifest.json"
    source.write_bytes(b'{"name": "iris"}')
    info = await store.put_path("m/manifest.json", source, content_type="application/json")
    assert info.sha256 == hashlib.sha256(b'{"name": "iris"}').hexdigest()
    assert await store.stat("m/manifest.json") == info
    assert await store.exists("m/manifest.json")
    assert await store.get_bytes("m/manifest.json") == b'{"name": "iris"}'

    # moto with authentication on cannot serve presigned GETs (its access check reads only the
    # Authorization header, see moto/iam/access_control.py), so the URL is checked, not fetched.
    url = urlsplit(await store.presigned_get_url("m/manifest.json", timedelta(minutes=5)))
    query = parse_qs(url.query)
    assert url.netloc == s3_services.s3_endpoint
    assert url.path == f"/{store.bucket}/{store.object_name('m/manifest.json')}"
    assert query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert len(query["X-Amz-Signature"][0]) == 64

    downloaded = await store.get_to_path("m/manifest.json", tmp_path / "copy.json")
    assert downloaded == info
    assert (tmp_path / "copy.json").read_bytes() == source.read_bytes()

    sha256 = hashlib.sha256(b"same bytes").hexdigest()
    addressed = await store.put(bundle_key(sha256), io.BytesIO(b"same bytes"))
    assert addressed.key == f"bundles/sha256/{sha256}.tar.gz"
    assert addressed.sha256 == sha256

    for key in ("m/manifest.json", addressed.key):
        await store.delete(key)
    await store.delete("m/manifest.json")  # deleting twice is fine
    assert not await store.exists("m/manifest.json")
    with pytest.raises(BlobNotFoundError):
        await store.stat("m/manifest.json")
    with pytest.raises(BlobNotFoundError):
        async for _ in store.open("m/manifest.json"):
            pass


async def test_wrong_credentials_are_refused(s3_services: Any) -> None:
    from modelbay_common.blob import BlobStoreUnavailableError, open_blob_store

    wrong = open_blob_store(
        f"s3://AKIAWRONGWRONGWRONG1:not-the-secret@{s3_services.s3_endpoint}/"
        f"{s3_services.s3_bucket}?secure=false"
    )
    with pytest.raises(BlobStoreUnavailableError, match="refused the credentials"):
        await wrong.stat("anything")


def _main(argv: list[str]) -> None:
    blob_url, key, size = argv
    print(json.dumps(asyncio.run(_round_trip_in_child(blob_url, key, int(size)))))


if __name__ == "__main__":
    _main(sys.argv[1:])
