"""Request dependencies that turn `Authorization: Bearer <token>` into the caller.

A token seen in the last few seconds is answered from memory (`auth_cache`); otherwise one short
transaction reads the token, its user and memberships in one query (and records when the token
was last used). Either way the result is a `Principal`; the request's later work does not need
the database for it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from modelbay_common.db import transaction

from modelbay_gateway.auth_cache import ResolvedToken
from modelbay_gateway.auth_throttle import client_of, throttle_of
from modelbay_gateway.context import GatewayContext, gateway_context
from modelbay_gateway.errors import InvalidToken, MissingToken
from modelbay_gateway.records import Principal
from modelbay_gateway.service import resolve_token
from modelbay_gateway.store import UserStore
from modelbay_gateway.tokens import token_sha256

# auto_error=False: a missing or malformed header must become our problem+json 401, not
# FastAPI's plain 403.
_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer mb_...`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def _principal_of(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Principal | None:
    # A plain function, not a dependency: each dependency FastAPI solves costs it tens of
    # microseconds per request, so a route's authentication is one dependency (and the bearer
    # scheme, which documents it in the OpenAPI).
    throttle, client = throttle_of(request), client_of(request)
    if credentials is None:
        if "authorization" in request.headers:
            throttle.check(client)
            throttle.failed(client)
            raise InvalidToken()  # present but not a bearer token
        return None
    throttle.check(client)  # before the lookup: a client at its limit costs no transaction
    resolved = await resolved_token(gateway_context(request), credentials.credentials)
    if resolved is None:
        throttle.failed(client)
        raise InvalidToken()
    return resolved.principal


async def resolved_token(context: GatewayContext, secret: str) -> ResolvedToken | None:
    """The caller of a bearer secret (None: unknown or revoked), from `context.principals`
    while fresh, else from the database (then kept)."""
    cache = context.principals
    digest = token_sha256(secret)
    resolved = cache.get(digest)
    if resolved is not None:
        return resolved
    generation = cache.generation  # read before the rows: a change meanwhile voids the entry
    async with transaction(context.sessions) as session:
        resolved = await resolve_token(UserStore(session), digest)
    if resolved is not None:
        cache.put(digest, resolved, generation)
    return resolved


async def required_principal(request: Request, credentials: Credentials) -> Principal:
    principal = await _principal_of(request, credentials)
    if principal is None:
        raise MissingToken()
    return principal


async def optional_principal(request: Request, credentials: Credentials) -> Principal | None:
    """Anonymous callers only when the platform is configured for anonymous reads."""
    principal = await _principal_of(request, credentials)
    if principal is None and not gateway_context(request).settings.anonymous_read:
        raise MissingToken()
    return principal


SignedIn = Annotated[Principal, Depends(required_principal)]
"""A caller with a valid token (401 otherwise)."""

Reader = Annotated[Principal | None, Depends(optional_principal)]
"""A caller with a valid token, or nobody when `ANONYMOUS_READ` is on (401 otherwise)."""
