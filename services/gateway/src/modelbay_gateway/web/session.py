"""Browser sessions and CSRF protection of the web UI.

A session is an API token of the user, named `web session`, issued at sign-in by the same
`issue_token` the API uses. The browser holds its secret in an HttpOnly, SameSite=Lax cookie
(Secure over https); the database holds only its SHA-256, like every token. So a session is
server-side: signing out revokes it at once, the user sees it (and can revoke it) in the token
list, and one rule (`authenticate`) decides who the caller is for the API and the UI alike. A web
session older than `SESSION_LIFETIME` is revoked when next presented.

CSRF: every form carries a token that a page of another site cannot know.
- Signed in: `HMAC-SHA256(session secret, "csrf")`; only a page that could read the HttpOnly
  cookie, or that was rendered by us for this session, has it (synchronizer token, derived
  instead of stored).
- Signed out (the sign-in form): a random value in its own cookie that the form repeats
  (double submit), so another site cannot sign a visitor into its attacker's account.
A missing or wrong token is a 403 page (`CsrfRejected`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from modelbay_common.db import transaction
from modelbay_common.errors import Forbidden

from modelbay_gateway.auth import resolved_token
from modelbay_gateway.errors import InvalidToken
from modelbay_gateway.records import Principal
from modelbay_gateway.service import authenticate, issue_token, revoke_token
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.store import UserStore
from modelbay_gateway.upstream import Caller
from modelbay_gateway.web.state import State

SESSION_COOKIE = "modelbay_session"
SIGNIN_CSRF_COOKIE = "modelbay_signin_csrf"
CSRF_FIELD = "csrf_token"
WEB_SESSION_TOKEN_NAME = "web session"
SESSION_LIFETIME = timedelta(days=7)


class CsrfRejected(Forbidden):
    type_slug = "csrf-rejected"
    title = "Form not accepted"

    def __init__(self) -> None:
        super().__init__(
            "This form is missing its security token or the token does not match your session "
            "(it may come from another site, or you signed in or out in another tab). Go back, "
            "reload the page and send the form again."
        )


@dataclass(frozen=True)
class Visitor:
    """Who is looking at a page: a signed-in user (with the session's secret) or nobody."""

    principal: Principal | None
    session_secret: str | None = None
    signin_csrf: str | None = None

    @property
    def caller(self) -> Caller:
        return caller_of(self.principal)

    @property
    def username(self) -> str | None:
        return None if self.principal is None else self.principal.username

    @property
    def csrf_token(self) -> str:
        """The token this visitor's forms must send back."""
        if self.session_secret is not None:
            return _session_csrf(self.session_secret)
        return self.signin_csrf or ""


def _session_csrf(session_secret: str) -> str:
    return hmac.new(session_secret.encode(), b"modelbay-csrf", hashlib.sha256).hexdigest()


def check_csrf(visitor: Visitor, submitted: str | None) -> None:
    expected = visitor.csrf_token
    if not submitted or not expected or not hmac.compare_digest(submitted, expected):
        raise CsrfRejected()


async def _open_session(state: State, secret: str) -> Principal | None:
    """The signed-in user of a session cookie; None once it was revoked or has expired.

    Resolved like a bearer token (`auth.resolved_token`: kept in memory for a few seconds,
    dropped at once by a sign-out or revocation through this process)."""
    context = state.context
    resolved = await resolved_token(context, secret)
    if resolved is None or resolved.token_name != WEB_SESSION_TOKEN_NAME:
        return None  # only a web session's secret opens a browser session
    principal = resolved.principal
    if datetime.now(UTC) - resolved.token_created_at > SESSION_LIFETIME:
        async with transaction(context.sessions) as session:
            await revoke_token(UserStore(session), principal, str(principal.token_id))
        return None
    return principal


async def current_visitor(request: Request, state: State) -> Visitor:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        principal = await _open_session(state, secret)
        if principal is not None:
            return Visitor(principal, session_secret=secret)
    return Visitor(None, signin_csrf=request.cookies.get(SIGNIN_CSRF_COOKIE))


CurrentVisitor = Annotated[Visitor, Depends(current_visitor)]


async def sign_in(state: State, username: str, token: str) -> str | None:
    """A new session secret when `token` is an active API token of `username`, else None.

    The browser gets a session of its own, never the token the user typed: signing out then
    revokes only the session, and the cookie cannot be confused with a long-lived token.
    """
    async with transaction(state.context.sessions) as session:
        store = UserStore(session)
        try:
            principal = await authenticate(store, token.strip())
        except InvalidToken:
            return None
        if not hmac.compare_digest(principal.username, username.strip()):
            return None
        issued = await issue_token(store, principal.user, WEB_SESSION_TOKEN_NAME)
    return issued.secret


async def sign_out(state: State, visitor: Visitor) -> None:
    if visitor.principal is None:
        return
    async with transaction(state.context.sessions) as session:
        await revoke_token(UserStore(session), visitor.principal, str(visitor.principal.token_id))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/")


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )


def new_signin_csrf() -> str:
    return secrets.token_urlsafe(32)


def set_signin_csrf_cookie(response: Response, request: Request, value: str) -> None:
    """The sign-in form's double-submit value, kept for an hour (the form's lifetime)."""
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        value,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
