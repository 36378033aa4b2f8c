"""Request dependencies that turn `Authorization: Bearer <token>` into the caller.

Each runs its own short transaction (it records when the token was last used) and returns a
`Principal`; the request's later work does not need the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from modelbay_common.db import transaction

from modelbay_gateway.context import GatewayContext
from modelbay_gateway.errors import InvalidToken, MissingToken
from modelbay_gateway.records import Principal
from modelbay_gateway.service import authenticate
from modelbay_gateway.store import UserStore

# auto_error=False: a missing or malformed header must become our problem+json 401, not
# FastAPI's plain 403.
_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer mb_...`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

PrincipalDependency = Callable[..., Awaitable[Principal]]
OptionalPrincipalDependency = Callable[..., Awaitable[Principal | None]]


def principal_dependencies(
    context: GatewayContext,
) -> tuple[PrincipalDependency, OptionalPrincipalDependency]:
    """(required, optional) dependencies; `optional` admits anonymous callers only when the
    platform is configured for anonymous reads, else it is as strict as `required`."""

    async def principal_of(request: Request, credentials: Credentials) -> Principal | None:
        if credentials is None:
            if "authorization" in request.headers:
                raise InvalidToken()  # present but not a bearer token
            return None
        async with transaction(context.sessions) as session:
            return await authenticate(UserStore(session), credentials.credentials)

    async def required(request: Request, credentials: Credentials) -> Principal:
        principal = await principal_of(request, credentials)
        if principal is None:
            raise MissingToken()
        return principal

    async def optional(request: Request, credentials: Credentials) -> Principal | None:
        principal = await principal_of(request, credentials)
        if principal is None and not context.settings.anonymous_read:
            raise MissingToken()
        return principal

    return required, optional
