"""Listing a blob store, for the artifact garbage collector only.

Kept out of the `BlobStore` protocol on purpose: no pipeline step may depend on listing (keys are
content-addressed or derived, docs in `keys.py`), and fakes of the protocol need not grow it. The
two real stores implement it; the collector checks `isinstance(store, BlobLister)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ListedBlob:
    key: str
    size: int
    modified: datetime  # timezone-aware: when the object was last written


@runtime_checkable
class BlobLister(Protocol):
    async def list_blobs(self, prefix: str) -> list[ListedBlob]:
        """Every object whose key starts with `prefix` (a folder such as `bundles/`)."""
        ...
