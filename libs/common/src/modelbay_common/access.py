"""Who is calling and what they may see or change: the one copy of the access rule.

The gateway authenticates a person and calls the internal services on their behalf, passing the
caller in internal headers (`caller_headers`): the user, their organisation attribute, the
administrator and publisher flags, and their memberships of organisations with a role each. Every
internal service reads them back with `caller_from_headers`. A model's `owner` is a user or an
organisation (the gateway keeps one namespace for both, so a name is never both). The rule
itself (pure, no I/O):

- an administrator sees and changes every model;
- the owner sees and changes their own models, and so do the `owner`s and `maintainer`s of an
  organisation that owns the model (they push, publish and move its aliases);
- everyone, signed in or not, sees a `public` model;
- an `org` model is also seen by every member of its organisation (any role, `reader`
  included) and by the users whose organisation attribute names it (`Caller.org`);
- a publisher (signed in) also sees a model whose publish request is pending
  (`ModelAccess.under_review`): they read what they are asked to make public;
- nobody else sees a model, and only those who change it above do.

Members of an organisation are managed by its `owner`s (and administrators). A publish request
(the catalog's optional approval of `public` publications) is decided by an administrator or a
publisher, never by one who owns the model or asked for the publication (`can_decide_publication`).

The catalog's search applies the same rule in SQL (`store_search.visible_to`); its tests check it
against `can_see` on an enumerated table of callers × models, so the two cannot drift. The
gateway's live event stream (SSE) filters with `can_see` directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ADMIN_HEADER",
    "ANONYMOUS",
    "MEMBERSHIPS_HEADER",
    "ORG_HEADER",
    "PUBLISHER_HEADER",
    "USER_HEADER",
    "Caller",
    "InvalidCallerHeaderError",
    "Membership",
    "ModelAccess",
    "OrgRole",
    "Visibility",
    "acts_for",
    "caller_from_headers",
    "caller_headers",
    "can_change",
    "can_decide_publication",
    "can_manage_members",
    "can_see",
    "owns",
]

USER_HEADER = "X-Modelbay-User"
ORG_HEADER = "X-Modelbay-Org"
ADMIN_HEADER = "X-Modelbay-Admin"
PUBLISHER_HEADER = "X-Modelbay-Publisher"
# `acme=maintainer,labs=reader`: organisation names are namespaces (no `=`, `,` or spaces).
MEMBERSHIPS_HEADER = "X-Modelbay-Orgs"

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


class OrgRole(StrEnum):
    """A member's role in an organisation; each includes what the ones below it may do."""

    OWNER = "owner"  # manages the members, and everything a maintainer does
    MAINTAINER = "maintainer"  # pushes, publishes and moves aliases of the organisation's models
    READER = "reader"  # sees the organisation's `org` models


# The roles that act for the organisation on its models.
_MANAGING_ROLES = frozenset({OrgRole.OWNER, OrgRole.MAINTAINER})


@dataclass(frozen=True, order=True)
class Membership:
    org: str
    role: OrgRole


class Visibility(StrEnum):
    PRIVATE = "private"  # the owner and administrators
    ORG = "org"  # also every user of the owner's organisation
    PUBLIC = "public"  # everyone, signed in or not


@dataclass(frozen=True)
class Caller:
    """The person the gateway acts for; `user=None` is an anonymous visitor (public reads only)."""

    user: str | None = None
    org: str | None = None
    admin: bool = False
    # The `publisher` right: decides publish requests (docs/catalog.md, "Publish approval").
    publisher: bool = False
    memberships: tuple[Membership, ...] = ()

    def __post_init__(self) -> None:
        # One canonical order (and one role per organisation), so equal callers compare equal
        # after the trip through the headers.
        by_org = {membership.org: membership for membership in self.memberships}
        object.__setattr__(self, "memberships", tuple(sorted(by_org.values())))

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    def role_in(self, org: str | None) -> OrgRole | None:
        """The caller's role in organisation `org`; None when not a member."""
        if not org or self.user is None:
            return None
        for membership in self.memberships:
            if membership.org == org:
                return membership.role
        return None

    def belongs_to(self, org: str | None) -> bool:
        """Member of `org` with any role, or `org` is the caller's organisation attribute."""
        return bool(org) and (self.org == org or self.role_in(org) is not None)


ANONYMOUS = Caller()


@dataclass(frozen=True)
class ModelAccess:
    """What decides who may see and change a model."""

    owner: str
    owner_org: str | None
    visibility: Visibility
    # A publish request of the model waits for a publisher's decision (the catalog knows).
    under_review: bool = False


def acts_for(caller: Caller, namespace: str) -> bool:
    """The caller is `namespace` itself or an owner/maintainer of the organisation `namespace`
    (administrators are not: they act *on* a namespace, see `can_change`)."""
    if caller.user is None:
        return False
    return caller.user == namespace or caller.role_in(namespace) in _MANAGING_ROLES


def owns(caller: Caller, model: ModelAccess) -> bool:
    """The model is the caller's own: theirs, or their organisation's where they maintain it."""
    return acts_for(caller, model.owner)


def can_see(caller: Caller, model: ModelAccess) -> bool:
    # `==`, not `is`: a visibility read as a plain string ("public") must mean the same.
    if caller.admin or model.visibility == Visibility.PUBLIC or owns(caller, model):
        return True
    if model.under_review and caller.publisher and caller.user is not None:
        return True  # reviewing: a publisher reads what they are asked to make public
    return model.visibility == Visibility.ORG and (
        caller.belongs_to(model.owner_org) or caller.role_in(model.owner) is not None
    )


def can_change(caller: Caller, model: ModelAccess) -> bool:
    """Pushing, publishing, moving aliases: the owner, the owning organisation's owners and
    maintainers, and administrators."""
    return caller.admin or owns(caller, model)


def can_manage_members(caller: Caller, org: str) -> bool:
    """Adding, removing and re-roling members of `org`: its owners and administrators."""
    return caller.admin or caller.role_in(org) is OrgRole.OWNER


def can_decide_publication(caller: Caller, model: ModelAccess, requested_by: str) -> bool:
    """Approving or declining a publish request: an administrator or a publisher who neither
    owns the model nor asked for the publication (no one approves their own model)."""
    if caller.user is None or not (caller.admin or caller.publisher):
        return False
    return caller.user != requested_by and not owns(caller, model)


class InvalidCallerHeaderError(ValueError):
    """An internal caller header has a value that is not one the gateway sends."""


def caller_headers(caller: Caller) -> dict[str, str]:
    """The internal headers that carry `caller` (an absent user or org is an absent header)."""
    headers = {ADMIN_HEADER: "true" if caller.admin else "false"}
    if caller.user:
        headers[USER_HEADER] = caller.user
    if caller.org:
        headers[ORG_HEADER] = caller.org
    if caller.publisher:
        headers[PUBLISHER_HEADER] = "true"
    if caller.memberships:
        headers[MEMBERSHIPS_HEADER] = ",".join(
            f"{membership.org}={membership.role.value}" for membership in caller.memberships
        )
    return headers


def _flag(by_name: Mapping[str, str], header: str) -> bool:
    value = by_name.get(header.lower())
    flag = (value or "").strip().lower()
    if flag not in _TRUE | _FALSE:
        raise InvalidCallerHeaderError(f"{header} must be 'true' or 'false', got {value!r}.")
    return flag in _TRUE


def _memberships(value: str | None) -> tuple[Membership, ...]:
    found: list[Membership] = []
    for item in (value or "").split(","):
        if not item.strip():
            continue
        org, separator, role = (part.strip() for part in item.partition("="))
        known = ", ".join(role.value for role in OrgRole)
        if not separator or not org or " " in org or role not in set(OrgRole):
            raise InvalidCallerHeaderError(
                f"{MEMBERSHIPS_HEADER} must list 'org=role' pairs (roles: {known}), got {item!r}."
            )
        found.append(Membership(org, OrgRole(role)))
    return tuple(found)


def caller_from_headers(headers: Mapping[str, str]) -> Caller:
    """The caller the headers describe; no user header means an anonymous visitor.

    `headers` may be any mapping; names are matched case-insensitively (HTTP header names are).
    Raises `InvalidCallerHeaderError` naming the header for a flag that is not a boolean or a
    membership that is not `org=role` with a known role.
    """
    by_name = {name.lower(): value for name, value in headers.items()}
    return Caller(
        user=(by_name.get(USER_HEADER.lower()) or "").strip() or None,
        org=(by_name.get(ORG_HEADER.lower()) or "").strip() or None,
        admin=_flag(by_name, ADMIN_HEADER),
        publisher=_flag(by_name, PUBLISHER_HEADER),
        memberships=_memberships(by_name.get(MEMBERSHIPS_HEADER.lower())),
    )
