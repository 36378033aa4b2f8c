"""The one liveness rule of the artifact garbage collector (contracts/gc.py) and the filesystem
store's listing it sweeps with (blob/listing.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from modelbay_common.blob.filesystem import FilesystemBlobStore
from modelbay_common.blob.listing import BlobLister
from modelbay_common.contracts.gc import death_reason


@pytest.mark.parametrize(
    ("status", "deleted", "reason"),
    [
        ("ready", False, None),
        ("uploaded", False, None),
        ("resolving", False, None),
        ("building", False, None),
        ("failed", False, "failed"),
        ("ready", True, "model-deleted"),
        ("failed", True, "model-deleted"),
    ],
)
def test_only_failed_versions_and_deleted_models_are_dead(
    status: str, deleted: bool, reason: str | None
) -> None:
    assert death_reason(status, deleted) == reason


async def test_the_filesystem_store_lists_committed_objects_under_a_prefix(
    tmp_path: Path,
) -> None:
    store = FilesystemBlobStore(tmp_path)
    await store.ensure_ready()
    assert isinstance(store, BlobLister)
    await store.put("bundles/sha256/" + "a" * 64 + ".tar.gz", io.BytesIO(b"abc"))
    await store.put("wheelhouses/x.tar", io.BytesIO(b"wheels"))
    listed = await store.list_blobs("bundles/")
    assert [(b.key, b.size) for b in listed] == [("bundles/sha256/" + "a" * 64 + ".tar.gz", 3)]
    assert listed[0].modified.tzinfo is not None
    assert await store.list_blobs("system-packages/") == []
