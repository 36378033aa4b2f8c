"""The access rule with organisations (modelbay_common.access), enumerated: every role a caller
may hold in the organisation that owns a model × every visibility, who manages members, who
decides a publish request, and memberships through the internal headers."""

from __future__ import annotations

import itertools

import pytest
from modelbay_common.access import (
    MEMBERSHIPS_HEADER,
    PUBLISHER_HEADER,
    Caller,
    InvalidCallerHeaderError,
    Membership,
    ModelAccess,
    OrgRole,
    Visibility,
    caller_from_headers,
    caller_headers,
    can_change,
    can_decide_publication,
    can_manage_members,
    can_see,
)


def _member(role: OrgRole, org: str = "acme", user: str = "bob") -> Caller:
    return Caller(user=user, memberships=(Membership(org, role),))


# Every kind of caller relative to a model owned by the organisation "acme".
CALLERS = {
    "anonymous": Caller(),
    "acme owner": _member(OrgRole.OWNER),
    "acme maintainer": _member(OrgRole.MAINTAINER),
    "acme reader": _member(OrgRole.READER),
    "owner of another org": _member(OrgRole.OWNER, org="globex"),
    "org attribute acme": Caller(user="dave", org="acme"),
    "no org": Caller(user="erin"),
    "admin": Caller(user="root", admin=True),
    "publisher": Caller(user="pat", publisher=True),
    "anonymous with a membership": Caller(memberships=(Membership("acme", OrgRole.OWNER),)),
}

# Expected (sees private, sees org, sees public, may change).
EXPECTED = {
    "anonymous": (False, False, True, False),
    "acme owner": (True, True, True, True),
    "acme maintainer": (True, True, True, True),
    "acme reader": (False, True, True, False),
    "owner of another org": (False, False, True, False),
    # The organisation attribute of a user (no membership) reaches `org` models, never more.
    "org attribute acme": (False, True, True, False),
    "no org": (False, False, True, False),
    "admin": (True, True, True, True),
    "publisher": (False, False, True, False),
    # A membership is only ever a signed-in user's.
    "anonymous with a membership": (False, False, True, False),
}


def _org_model(visibility: Visibility, owner_org: str | None = "acme") -> ModelAccess:
    return ModelAccess(owner="acme", owner_org=owner_org, visibility=visibility)


@pytest.mark.parametrize("who", sorted(CALLERS))
def test_roles_in_the_owning_organisation_decide_seeing_and_changing(who: str) -> None:
    caller = CALLERS[who]
    private, org, public, change = EXPECTED[who]
    assert can_see(caller, _org_model(Visibility.PRIVATE)) is private
    assert can_see(caller, _org_model(Visibility.ORG)) is org
    assert can_see(caller, _org_model(Visibility.PUBLIC)) is public
    for visibility in Visibility:
        assert can_change(caller, _org_model(visibility)) is change


@pytest.mark.parametrize("role", list(OrgRole))
def test_membership_of_the_owner_suffices_without_a_recorded_organisation(role: OrgRole) -> None:
    model = _org_model(Visibility.ORG, owner_org=None)
    assert can_see(_member(role), model)
    assert not can_see(Caller(user="dave", org="acme"), model)


def test_a_member_of_a_users_organisation_sees_that_users_org_models() -> None:
    # alice (a user) pushed with her organisation "acme": acme's readers see her `org` models
    # and still cannot change them.
    model = ModelAccess(owner="alice", owner_org="acme", visibility=Visibility.ORG)
    reader = _member(OrgRole.READER)
    maintainer = _member(OrgRole.MAINTAINER)
    assert can_see(reader, model)
    assert can_see(maintainer, model)
    assert not can_change(maintainer, model)
    private = ModelAccess(owner="alice", owner_org="acme", visibility=Visibility.PRIVATE)
    assert not can_see(maintainer, private)


def test_whoever_may_change_a_model_may_also_see_it() -> None:
    for caller, visibility in itertools.product(CALLERS.values(), Visibility):
        model = _org_model(visibility)
        assert not can_change(caller, model) or can_see(caller, model)


@pytest.mark.parametrize(
    ("caller", "manages"),
    [
        (_member(OrgRole.OWNER), True),
        (_member(OrgRole.MAINTAINER), False),
        (_member(OrgRole.READER), False),
        (_member(OrgRole.OWNER, org="globex"), False),
        (Caller(user="root", admin=True), True),
        (Caller(user="dave", org="acme"), False),
        (Caller(), False),
    ],
)
def test_only_owners_and_administrators_manage_members(caller: Caller, manages: bool) -> None:
    assert can_manage_members(caller, "acme") is manages


PUBLIC_OF_ACME = ModelAccess(owner="acme", owner_org="acme", visibility=Visibility.PRIVATE)
PUBLIC_OF_ALICE = ModelAccess(owner="alice", owner_org=None, visibility=Visibility.PRIVATE)


@pytest.mark.parametrize(
    ("caller", "model", "requested_by", "decides"),
    [
        # A publisher or an administrator decides someone else's request.
        (Caller(user="pat", publisher=True), PUBLIC_OF_ALICE, "alice", True),
        (Caller(user="root", admin=True), PUBLIC_OF_ALICE, "alice", True),
        # Nobody approves their own model ...
        (Caller(user="alice", publisher=True), PUBLIC_OF_ALICE, "alice", False),
        (Caller(user="alice", admin=True), PUBLIC_OF_ALICE, "alice", False),
        # ... nor a model their organisation owns and they maintain ...
        (
            Caller(user="bob", publisher=True, memberships=(Membership("acme", OrgRole.OWNER),)),
            PUBLIC_OF_ACME,
            "carol",
            False,
        ),
        # ... nor a publication they asked for (an administrator publishing someone else's).
        (Caller(user="root", admin=True), PUBLIC_OF_ALICE, "root", False),
        # A reader of the owning organisation is not an owner of the model: they may decide.
        (
            Caller(user="bob", publisher=True, memberships=(Membership("acme", OrgRole.READER),)),
            PUBLIC_OF_ACME,
            "carol",
            True,
        ),
        # Without the right, nobody decides; anonymous never.
        (Caller(user="erin"), PUBLIC_OF_ALICE, "alice", False),
        (Caller(publisher=True), PUBLIC_OF_ALICE, "alice", False),
    ],
)
def test_who_decides_a_publish_request(
    caller: Caller, model: ModelAccess, requested_by: str, decides: bool
) -> None:
    assert can_decide_publication(caller, model, requested_by) is decides


@pytest.mark.parametrize("caller", list(CALLERS.values()), ids=sorted(CALLERS))
def test_memberships_survive_the_trip_through_the_headers(caller: Caller) -> None:
    if caller.user is None and caller.memberships:
        # The gateway never sends memberships without a user; the trip keeps them anyway.
        assert caller_from_headers(caller_headers(caller)).memberships == caller.memberships
        return
    assert caller_from_headers(caller_headers(caller)) == caller


def test_memberships_are_canonical_one_role_per_org() -> None:
    several = Caller(
        user="bob",
        memberships=(
            Membership("labs", OrgRole.READER),
            Membership("acme", OrgRole.READER),
            Membership("acme", OrgRole.OWNER),  # the last word on acme wins
        ),
    )
    assert several.memberships == (
        Membership("acme", OrgRole.OWNER),
        Membership("labs", OrgRole.READER),
    )
    assert caller_headers(several)[MEMBERSHIPS_HEADER] == "acme=owner,labs=reader"


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({MEMBERSHIPS_HEADER: "acme=boss"}, MEMBERSHIPS_HEADER),
        ({MEMBERSHIPS_HEADER: "acme"}, MEMBERSHIPS_HEADER),
        ({MEMBERSHIPS_HEADER: "=owner"}, MEMBERSHIPS_HEADER),
        ({MEMBERSHIPS_HEADER: "ac me=owner"}, MEMBERSHIPS_HEADER),
        ({PUBLISHER_HEADER: "maybe"}, PUBLISHER_HEADER),
    ],
)
def test_bad_membership_or_publisher_headers_are_named(headers: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidCallerHeaderError, match=named):
        caller_from_headers({"X-Modelbay-User": "bob", **headers})
