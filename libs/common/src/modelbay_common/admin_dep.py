"""An internal route only an administrator may call, as one FastAPI dependency.

The gateway names the caller in signed headers (`modelbay_common.access`); the services' admin
routes (onboarding's pickle allowances and garbage collection, the builder's garbage collection)
decode them with the shared rule and refuse anyone but an administrator with a 403 problem that
says what was refused. One definition, so the header decoding and the refusal cannot drift apart.
"""

# No `from __future__ import annotations` here: FastAPI must evaluate the dependency's annotations.
from collections.abc import Callable
from typing import Annotated

from fastapi import Header

from modelbay_common.access import (
    ADMIN_HEADER,
    USER_HEADER,
    Caller,
    InvalidCallerHeaderError,
    caller_from_headers,
)
from modelbay_common.errors import BadRequest, Forbidden


def administrator(action: str) -> Callable[..., Caller]:
    """A dependency returning the calling administrator; others get 403 "only an administrator
    may <action>", undecodable headers 400."""

    def calling_administrator(
        x_modelbay_user: Annotated[str | None, Header()] = None,
        x_modelbay_admin: Annotated[str | None, Header()] = None,
    ) -> Caller:
        sent = {USER_HEADER: x_modelbay_user, ADMIN_HEADER: x_modelbay_admin}
        try:
            caller = caller_from_headers({key: value for key, value in sent.items() if value})
        except InvalidCallerHeaderError as exc:
            raise BadRequest(str(exc)) from None
        if not caller.admin or caller.user is None:
            raise Forbidden(f"only an administrator may {action}")
        return caller

    return calling_administrator
