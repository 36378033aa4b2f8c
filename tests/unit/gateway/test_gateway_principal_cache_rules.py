"""The in-memory cache of resolved bearer tokens (auth_cache.py): expiry, bound, invalidation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from modelbay_gateway.auth_cache import PrincipalCache, ResolvedToken
from modelbay_gateway.records import Principal, User


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def resolved(username: str, user_id: uuid.UUID | None = None) -> ResolvedToken:
    user = User(
        id=user_id or uuid.uuid4(),
        username=username,
        org=None,
        is_admin=False,
        created_at=datetime(2026, 12, 7, tzinfo=UTC),
    )
    return ResolvedToken(
        principal=Principal(user=user, token_id=uuid.uuid4()),
        token_name="default",
        token_created_at=user.created_at,
    )


def test_an_entry_is_answered_until_its_ttl_then_forgotten() -> None:
    clock = Clock()
    cache = PrincipalCache(5.0, 10, clock=clock)
    alice = resolved("alice")
    cache.put("digest-a", alice, cache.generation)
    clock.now += 4.9
    assert cache.get("digest-a") is alice
    clock.now += 0.1  # exactly the TTL: expired
    assert cache.get("digest-a") is None
    assert len(cache) == 0


def test_a_zero_ttl_keeps_nothing() -> None:
    cache = PrincipalCache(0, 10)
    cache.put("digest-a", resolved("alice"), cache.generation)
    assert cache.get("digest-a") is None


def test_the_least_recently_used_entry_goes_first_at_the_bound() -> None:
    cache = PrincipalCache(60.0, 2, clock=Clock())
    first, second, third = resolved("a"), resolved("b"), resolved("c")
    cache.put("1", first, cache.generation)
    cache.put("2", second, cache.generation)
    assert cache.get("1") is first  # now "2" is the least recently used
    cache.put("3", third, cache.generation)
    assert len(cache) == 2
    assert cache.get("2") is None
    assert cache.get("1") is first
    assert cache.get("3") is third


def test_forgetting_a_user_drops_all_their_tokens_and_only_theirs() -> None:
    cache = PrincipalCache(60.0, 10, clock=Clock())
    carol = uuid.uuid4()
    laptop, phone, dave = resolved("carol", carol), resolved("carol", carol), resolved("dave")
    for digest, entry in (("laptop", laptop), ("phone", phone), ("dave", dave)):
        cache.put(digest, entry, cache.generation)
    cache.forget_users([carol])
    assert cache.get("laptop") is None
    assert cache.get("phone") is None
    assert cache.get("dave") is dave


def test_rows_read_before_an_invalidation_are_not_kept() -> None:
    """A request that read the token before a revocation committed must not put it back."""
    cache = PrincipalCache(60.0, 10, clock=Clock())
    carol = resolved("carol")
    read_at = cache.generation  # the request starts reading the rows ...
    cache.forget_users([carol.principal.user.id])  # ... a revocation commits meanwhile
    cache.put("digest", carol, read_at)
    assert cache.get("digest") is None
    cache.put("digest", carol, cache.generation)  # a read after the change is kept
    assert cache.get("digest") is carol
