"""Opaque keyset-pagination cursors for the model search (pure: no I/O).

A cursor holds the sort key of the last row of a page and a fingerprint of the search that
produced it. The next page asks for rows strictly after that key, so rows added or removed
between pages never cause a duplicate or a gap among the rows that were already there. The
fingerprint makes a cursor reused with other filters a 400 instead of a silently wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

from modelbay_catalog.errors import InvalidCursor


@dataclass(frozen=True)
class SortKey:
    """The sort value (rank or downloads; None when sorting by id alone) and the model id of
    the last row of a page. The sort itself is part of the fingerprint."""

    value: float | None
    model_id: int


def search_fingerprint(criteria: Mapping[str, object]) -> str:
    canonical = json.dumps(criteria, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(key: SortKey, fingerprint: str) -> str:
    document = {"v": key.value, "i": key.model_id, "f": fingerprint}
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> SortKey:
    """The sort key in `cursor`; InvalidCursor if it is malformed or from another search."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value, model_id, found_fingerprint = document["v"], document["i"], document["f"]
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidCursor("The cursor is malformed; start again without one.") from exc
    if found_fingerprint != fingerprint:
        raise InvalidCursor(
            "The cursor belongs to a search with other filters; start again without one."
        )
    valid_value = value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and _finite(value)
    )
    if not isinstance(model_id, int) or isinstance(model_id, bool) or not valid_value:
        raise InvalidCursor("The cursor is malformed; start again without one.")
    return SortKey(value=value, model_id=model_id)


def _finite(value: int | float) -> bool:
    """A sort value a page boundary can be: JSON also reads NaN, Infinity and integers no
    float holds, none of which a page ever wrote (and `float()` of a huge one raises)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False
