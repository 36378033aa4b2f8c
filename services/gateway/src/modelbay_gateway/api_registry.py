"""The registry's token endpoint: `GET /v1/registry/token` (the `realm` of `auth: token`).

What Docker does against a registry behind token auth (Distribution's token specification,
`docs/spec/auth/token.md`): the registry answers 401 with `WWW-Authenticate: Bearer
realm=".../v1/registry/token",service="modelbay-registry",scope="repository:alice/iris:pull"`;
the client asks the realm for a token with those parameters, with `Authorization: Basic
base64(username:password)` after `docker login` (the password is a Modelbay API token) or with
no credentials, and retries with `Authorization: Bearer <token>`. `modelbay pull` sends its API
token as a bearer token instead. The answer is always a token (possibly granting nothing: the
registry then refuses the pull, which is how an unknown or private model looks).
"""

# No `from __future__ import annotations`: FastAPI must see the Annotated dependencies.
import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request
from modelbay_common.db import transaction
from modelbay_common.registry_auth import InvalidScope, RegistryTokenIssuer, requested_scopes
from pydantic import BaseModel, Field

from modelbay_gateway.auth_throttle import client_of, throttle_of
from modelbay_gateway.context import ContextDep, GatewayContext
from modelbay_gateway.errors import (
    InvalidRegistryScope,
    InvalidToken,
    RegistryAuthNotConfigured,
    RegistryCredentialsRefused,
    UnknownRegistryService,
)
from modelbay_gateway.records import Principal
from modelbay_gateway.service import authenticate
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.service_registry import grant_registry_access
from modelbay_gateway.store import UserStore

router = APIRouter(prefix="/v1/registry", tags=["registry"])


class RegistryTokenOut(BaseModel):
    """The token specification's answer (`token` and its OAuth2 alias `access_token`)."""

    token: str = Field(description="A JWT the registry accepts as `Authorization: Bearer`.")
    access_token: str = Field(description="The same token (OAuth2 clients read this name).")
    expires_in: int = Field(description="Seconds the token stays valid.")
    issued_at: str = Field(description="RFC 3339 time the token was issued.")


def _issuer(request: Request) -> RegistryTokenIssuer:
    issuer = cast(RegistryTokenIssuer | None, request.app.state.registry_tokens)
    if issuer is None:
        raise RegistryAuthNotConfigured()
    return issuer


Issuer = Annotated[RegistryTokenIssuer, Depends(_issuer)]


def _basic_credentials(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise RegistryCredentialsRefused() from None
    username, separator, secret = decoded.partition(":")
    if not separator or not username or not secret:
        raise RegistryCredentialsRefused()
    return username, secret


async def _principal(context: GatewayContext, authorization: str | None) -> Principal | None:
    """The caller behind Basic (docker login) or Bearer (modelbay pull) credentials; None when
    anonymous. Wrong credentials are a 401, never a silently anonymous token: a user who typed
    the wrong token must be told, not refused a pull later for reasons they cannot see."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    if scheme not in ("basic", "bearer") or not value.strip():
        raise RegistryCredentialsRefused()
    username, secret = (
        _basic_credentials(value.strip()) if scheme == "basic" else (None, value.strip())
    )
    try:
        async with transaction(context.sessions) as session:
            principal = await authenticate(UserStore(session), secret)
    except InvalidToken:
        raise RegistryCredentialsRefused() from None
    if username is not None and username != principal.username:
        raise RegistryCredentialsRefused()
    return principal


@router.get(
    "/token",
    response_model=RegistryTokenOut,
    summary="A short-lived token for the model registry (the registry's auth realm)",
    responses={
        400: {"description": "Malformed scope or a service this platform does not issue for."},
        401: {"description": "Credentials were sent but do not match a user and API token."},
        404: {"description": "The registry of this platform is not behind token auth."},
        429: {"description": "Too many failed authentications from this address."},
    },
)
async def registry_token(
    request: Request,
    context: ContextDep,
    issuer: Issuer,
    service: Annotated[str | None, Query(description="The registry's service name.")] = None,
    scope: Annotated[
        list[str] | None, Query(description="`repository:<owner>/<name>:pull`, repeatable.")
    ] = None,
    account: Annotated[str | None, Query(description="The username `docker login` sends.")] = None,
) -> RegistryTokenOut:
    """Pull access to the models the caller may see; push and delete are never granted."""
    if service is not None and service != issuer.service:
        raise UnknownRegistryService(service, issuer.service)
    try:
        requested = requested_scopes(scope or [])
    except InvalidScope as exc:
        raise InvalidRegistryScope(str(exc)) from None
    throttle, client = throttle_of(request), client_of(request)
    throttle.check(client)
    try:
        principal = await _principal(context, request.headers.get("authorization"))
        if account is not None and principal is not None and account != principal.username:
            raise RegistryCredentialsRefused()
    except RegistryCredentialsRefused:
        throttle.failed(client)
        raise
    if principal is None and not context.settings.anonymous_read:
        granted = []  # as on the API: without anonymous reads, nobody anonymous sees anything
    else:
        granted = await grant_registry_access(context.upstreams, caller_of(principal), requested)
    subject = principal.username if principal is not None else ""
    minted = issuer.mint(subject, granted)
    return RegistryTokenOut(
        token=minted.token,
        access_token=minted.token,
        expires_in=minted.expires_in,
        issued_at=datetime.fromtimestamp(minted.issued_at, UTC).isoformat(),
    )
