"""Who is calling and what they may see or change: the one copy of the access rule.

The gateway authenticates a person and calls the internal services on their behalf, passing the
caller in three internal headers (`caller_headers`); every internal service reads them back with
`caller_from_headers`. The rule itself (pure, no I/O):

- an administrator sees and changes every model;
- the owner sees and changes their own models;
- everyone, signed in or not, sees a `public` model;
- a user of the owner's organisation also sees an `org` model;
- nobody else sees a model, and only its owner and administrators change it.

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
    "ORG_HEADER",
    "USER_HEADER",
    "Caller",
    "InvalidCallerHeaderError",
    "ModelAccess",
    "Visibility",
    "caller_from_headers",
    "caller_headers",
    "can_change",
    "can_see",
]

USER_HEADER = "X-Modelbay-User"
ORG_HEADER = "X-Modelbay-Org"
ADMIN_HEADER = "X-Modelbay-Admin"

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


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

    @property
    def signed_in(self) -> bool:
        return self.user is not None


ANONYMOUS = Caller()


@dataclass(frozen=True)
class ModelAccess:
    """What decides who may see and change a model."""

    owner: str
    owner_org: str | None
    visibility: Visibility


def can_see(caller: Caller, model: ModelAccess) -> bool:
    # `==`, not `is`: a visibility read as a plain string ("public") must mean the same.
    if caller.admin or model.visibility == Visibility.PUBLIC:
        return True
    if caller.user is not None and caller.user == model.owner:
        return True
    return (
        model.visibility == Visibility.ORG
        and bool(caller.org)
        and bool(model.owner_org)
        and caller.org == model.owner_org
    )


def can_change(caller: Caller, model: ModelAccess) -> bool:
    """Publishing (and anything else that changes a model) is for its owner and administrators."""
    return caller.admin or (caller.user is not None and caller.user == model.owner)


class InvalidCallerHeaderError(ValueError):
    """An internal caller header has a value that is not one the gateway sends."""


def caller_headers(caller: Caller) -> dict[str, str]:
    """The internal headers that carry `caller` (an absent user or org is an absent header)."""
    headers = {ADMIN_HEADER: "true" if caller.admin else "false"}
    if caller.user:
        headers[USER_HEADER] = caller.user
    if caller.org:
        headers[ORG_HEADER] = caller.org
    return headers


def caller_from_headers(headers: Mapping[str, str]) -> Caller:
    """The caller the headers describe; no user header means an anonymous visitor.

    `headers` may be any mapping; names are matched case-insensitively (HTTP header names are).
    Raises `InvalidCallerHeaderError` naming the header for an admin flag that is not a boolean.
    """
    by_name = {name.lower(): value for name, value in headers.items()}
    admin_value = by_name.get(ADMIN_HEADER.lower())
    admin_flag = (admin_value or "").strip().lower()
    if admin_flag not in _TRUE | _FALSE:
        raise InvalidCallerHeaderError(
            f"{ADMIN_HEADER} must be 'true' or 'false', got {admin_value!r}."
        )
    return Caller(
        user=(by_name.get(USER_HEADER.lower()) or "").strip() or None,
        org=(by_name.get(ORG_HEADER.lower()) or "").strip() or None,
        admin=admin_flag in _TRUE,
    )
