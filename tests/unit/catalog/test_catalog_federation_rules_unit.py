"""The rules of federation (modelbay_catalog.federation.rules): names, subscriptions, back-off."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from modelbay_catalog.federation.rules import (
    Subscription,
    backoff_seconds,
    check_peer_name,
    check_peer_url,
    namespaced_owner,
    next_attempt,
)
from modelbay_onboarding.names import NAME_PATTERN


@pytest.mark.parametrize("name", ["a", "origin-1", "eu-west-2", "x" * 40])
def test_peer_names_are_namespace_segments(name: str) -> None:
    assert check_peer_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "a.b", "a_b", "-a", "a-", "a--b", "x" * 41, "a b"])
def test_other_peer_names_are_refused_saying_what_a_name_is(name: str) -> None:
    with pytest.raises(ValueError, match="is not a peer name"):
        check_peer_name(name)


@pytest.mark.parametrize("peer", ["a", "origin-1", "x" * 40])
@pytest.mark.parametrize("owner", ["alice", "acme.labs", "bob-2", "c_d"])
def test_a_namespaced_owner_passes_the_owner_validation(peer: str, owner: str) -> None:
    local = namespaced_owner(peer, owner)
    assert local == f"{peer}.{owner}"
    assert NAME_PATTERN.fullmatch(local)


def test_peer_urls_are_http_base_urls_without_trailing_slash() -> None:
    assert check_peer_url(" https://a.example/ ") == "https://a.example"
    assert check_peer_url("http://10.0.0.1:8000/modelbay") == "http://10.0.0.1:8000/modelbay"
    for bad in ["ftp://a.example", "a.example", "http://", "https://a.example/?x=1", "http://a#b"]:
        with pytest.raises(ValueError, match=r"URL|query"):
            check_peer_url(bad)


def test_a_subscription_matches_everything_or_any_owner_category_or_tag() -> None:
    assert Subscription(all=True).matches("anyone", None, ())
    by_owner = Subscription(owners=("alice",))
    assert by_owner.matches("alice", "nlp", ())
    assert not by_owner.matches("bob", "nlp", ())
    by_category = Subscription(categories=("vision",))
    assert by_category.matches("bob", "vision", ())
    assert not by_category.matches("bob", None, ())
    by_tag = Subscription(tags=("iris", "demo"))
    assert by_tag.matches("bob", None, ("demo",))
    assert not by_tag.matches("bob", None, ("other",))
    assert Subscription().empty
    assert not Subscription().matches("alice", "nlp", ("demo",))


@pytest.mark.parametrize("failures", range(1, 12))
def test_backoff_doubles_up_to_the_ceiling_with_jitter_between_half_and_full(
    failures: int,
) -> None:
    full = min(3600.0, 30.0 * 2 ** (failures - 1))
    least = backoff_seconds(failures, base=30, ceiling=3600, jitter=lambda: 0.0)
    most = backoff_seconds(failures, base=30, ceiling=3600, jitter=lambda: 1.0)
    assert least == pytest.approx(full / 2)
    assert most == pytest.approx(full)
    drawn = backoff_seconds(failures, base=30, ceiling=3600)
    assert full / 2 <= drawn <= full


def test_backoff_never_overflows_and_treats_zero_failures_as_one() -> None:
    assert backoff_seconds(10_000, base=30, ceiling=60, jitter=lambda: 1.0) == 60
    assert backoff_seconds(0, base=30, ceiling=60, jitter=lambda: 1.0) == 30


def test_the_next_attempt_is_later_than_now() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_attempt(now, 1, base=1, ceiling=10) > now
