"""The visibility rule and its cache (pure, no I/O)."""

from __future__ import annotations

import pytest
from modelbay_common.access import Caller, ModelAccess, Visibility, can_see
from modelbay_gateway.visibility import VisibilityCache


@pytest.mark.parametrize(
    ("caller", "access", "expected"),
    [
        (Caller("alice"), ModelAccess("alice", None, Visibility.PRIVATE), True),
        (Caller("bob"), ModelAccess("alice", None, Visibility.PRIVATE), False),
        (Caller(None), ModelAccess("alice", None, Visibility.PUBLIC), True),
        (Caller("bob", "acme"), ModelAccess("alice", "acme", Visibility.ORG), True),
        (Caller("bob", "other"), ModelAccess("alice", "acme", Visibility.ORG), False),
        (Caller("bob", None), ModelAccess("alice", None, Visibility.ORG), False),
        (Caller("root", admin=True), ModelAccess("alice", None, Visibility.PRIVATE), True),
    ],
)
def test_can_see(caller: Caller, access: ModelAccess, expected: bool) -> None:
    assert can_see(caller, access) is expected


async def test_cache_asks_once_per_ttl() -> None:
    now = [0.0]
    calls: list[str] = []

    async def lookup(owner: str, name: str) -> ModelAccess | None:
        calls.append(name)
        return ModelAccess(owner, None, Visibility.PUBLIC)

    cache = VisibilityCache(lookup, ttl_seconds=5, clock=lambda: now[0])
    await cache.access("a", "m")
    await cache.access("a", "m")
    assert calls == ["m"]
    now[0] = 6
    await cache.access("a", "m")
    assert calls == ["m", "m"]


async def test_failed_lookup_restricts_instead_of_failing() -> None:
    async def lookup(owner: str, name: str) -> ModelAccess | None:
        raise ConnectionError("catalog down")

    cache = VisibilityCache(lookup, ttl_seconds=5)
    access = await cache.access("alice", "m", owner_org="acme")
    assert access == ModelAccess("alice", "acme", Visibility.PRIVATE)
