"""The access rule (modelbay_common.access), enumerated: every kind of caller × every kind of
model, and the caller's trip through the internal headers."""

from __future__ import annotations

import itertools

import pytest
from modelbay_common.access import (
    ADMIN_HEADER,
    ANONYMOUS,
    ORG_HEADER,
    USER_HEADER,
    Caller,
    InvalidCallerHeaderError,
    ModelAccess,
    Visibility,
    caller_from_headers,
    caller_headers,
    can_change,
    can_see,
)

# Every kind of caller relative to a model owned by alice of org "acme".
CALLERS = {
    "anonymous": ANONYMOUS,
    "owner": Caller(user="alice", org="acme"),
    "owner without org": Caller(user="alice"),
    "same org": Caller(user="bob", org="acme"),
    "other org": Caller(user="carol", org="globex"),
    "no org": Caller(user="dave"),
    "admin": Caller(user="root", admin=True),
    "org but anonymous": Caller(org="acme"),
}

# Expected (sees private, sees org, sees public, may change).
EXPECTED = {
    "anonymous": (False, False, True, False),
    "owner": (True, True, True, True),
    "owner without org": (True, True, True, True),
    "same org": (False, True, True, False),
    "other org": (False, False, True, False),
    "no org": (False, False, True, False),
    "admin": (True, True, True, True),
    "org but anonymous": (False, True, True, False),
}


def _model(visibility: Visibility, owner_org: str | None = "acme") -> ModelAccess:
    return ModelAccess(owner="alice", owner_org=owner_org, visibility=visibility)


@pytest.mark.parametrize("who", sorted(CALLERS))
def test_who_sees_and_changes_what(who: str) -> None:
    caller = CALLERS[who]
    private, org, public, change = EXPECTED[who]
    assert can_see(caller, _model(Visibility.PRIVATE)) is private
    assert can_see(caller, _model(Visibility.ORG)) is org
    assert can_see(caller, _model(Visibility.PUBLIC)) is public
    for visibility in Visibility:
        assert can_change(caller, _model(visibility)) is change


@pytest.mark.parametrize("visibility", list(Visibility))
def test_a_model_without_an_org_is_seen_by_no_org_member(visibility: Visibility) -> None:
    # An empty org never matches another empty org: "no organisation" is not an organisation.
    model = _model(visibility, owner_org=None)
    assert can_see(Caller(user="bob", org=None), model) is (visibility is Visibility.PUBLIC)
    assert can_see(Caller(user="bob", org="acme"), model) is (visibility is Visibility.PUBLIC)


def test_whoever_may_change_a_model_may_also_see_it() -> None:
    for caller, visibility in itertools.product(CALLERS.values(), Visibility):
        model = _model(visibility)
        assert not can_change(caller, model) or can_see(caller, model)


@pytest.mark.parametrize("caller", list(CALLERS.values()), ids=sorted(CALLERS))
def test_a_caller_survives_the_trip_through_the_headers(caller: Caller) -> None:
    assert caller_from_headers(caller_headers(caller)) == caller


def test_headers_name_only_what_is_known() -> None:
    assert caller_headers(ANONYMOUS) == {ADMIN_HEADER: "false"}
    assert caller_headers(Caller(user="alice", org="acme", admin=True)) == {
        ADMIN_HEADER: "true",
        USER_HEADER: "alice",
        ORG_HEADER: "acme",
    }


def test_header_names_are_read_case_insensitively_and_values_trimmed() -> None:
    headers = {"x-modelbay-user": " alice ", "x-modelbay-org": "", "x-modelbay-admin": "TRUE"}
    assert caller_from_headers(headers) == Caller(user="alice", org=None, admin=True)


def test_no_headers_is_an_anonymous_visitor() -> None:
    assert caller_from_headers({}) == ANONYMOUS
    assert not ANONYMOUS.signed_in


@pytest.mark.parametrize("value", ["maybe", "2", "admin", "tru e"])
def test_a_malformed_admin_flag_is_refused_naming_the_header(value: str) -> None:
    with pytest.raises(InvalidCallerHeaderError, match=ADMIN_HEADER) as raised:
        caller_from_headers({ADMIN_HEADER: value})
    assert repr(value) in str(raised.value)


def test_a_publisher_reads_a_model_under_review_and_only_reads_it() -> None:
    reviewed = ModelAccess(owner="alice", owner_org="acme", visibility=Visibility.PRIVATE)
    under_review = ModelAccess("alice", "acme", Visibility.PRIVATE, under_review=True)
    publisher = Caller(user="pat", publisher=True)
    assert not can_see(publisher, reviewed)
    assert can_see(publisher, under_review)
    assert not can_change(publisher, under_review)
    assert not can_see(Caller(org="acme", publisher=True), under_review)  # nobody signed in
    for name, caller in CALLERS.items():  # the others: as if nothing were under review
        assert can_see(caller, under_review) is can_see(caller, reviewed), name
