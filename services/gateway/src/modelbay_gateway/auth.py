"""Request dependencies that turn `Authorization: Bearer <token>` into the caller.

Each runs its own short transaction (it records when the token was last used) and returns a
`Principal`; the request's later work does not need the database.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from modelbay_common.db import transaction

from modelbay_gateway.auth_throttle import client_of, throttle_of
from modelbay_gateway.context import ContextDep
from modelbay_gateway.errors import InvalidToken, MissingToken
from modelbay_gateway.records import Principal
from modelbay_gateway.service import authenticate
from modelbay_gateway.store import UserStore

# auto_error=False: a missing or malformed header must become our problem+json 401, not
# FastAPI's plain 403.
_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer mb_...`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def _principal_of(
    request: Request, credentials: Credentials, context: ContextDep
) -> Principal | None:
    throttle, client = throttle_of(request), client_of(request)
    if credentials is None:
        if "authorization" in request.headers:
            throttle.check(client)
            throttle.failed(client)
            raise InvalidToken()  # present but not a bearer token
        return None
    throttle.check(client)  # before the lookup: a client at its limit costs no transaction
    try:
        async with transaction(context.sessions) as session:
            return await authenticate(UserStore(session), credentials.credentials)
    except InvalidToken:
        throttle.failed(client)
        raise


async def required_principal(
    principal: Annotated[Principal | None, Depends(_principal_of)],
) -> Principal:
    if principal is None:
        raise MissingToken()
    return principal


async def optional_principal(
    principal: Annotated[Principal | None, Depends(_principal_of)], context: ContextDep
) -> Principal | None:
    """Anonymous callers only when the platform is configured for anonymous reads."""
    if principal is None and not context.settings.anonymous_read:
        raise MissingToken()
    return principal


SignedIn = Annotated[Principal, Depends(required_principal)]
"""A caller with a valid token (401 otherwise)."""

Reader = Annotated[Principal | None, Depends(optional_principal)]
"""A caller with a valid token, or nobody when `ANONYMOUS_READ` is on (401 otherwise)."""
