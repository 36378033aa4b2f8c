"""Use cases of accounts: authenticate a token, create users and tokens, the bootstrap admin.

Every function works in the session it is given and only flushes; the caller (a request
dependency or the start-up routine) owns the transaction.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from modelbay_gateway.auth_cache import ResolvedToken
from modelbay_gateway.errors import (
    AdminRequired,
    InvalidToken,
    NamespaceTaken,
    TokenNotFound,
    UserExists,
)
from modelbay_gateway.records import IssuedToken, Principal, TokenInfo, User
from modelbay_gateway.store import UserStore
from modelbay_gateway.tokens import display_prefix, new_token, token_sha256

log = logging.getLogger(__name__)

BOOTSTRAP_TOKEN_NAME = "bootstrap"
# Recording every use would turn each read request into a write; a minute is precise enough to
# tell a user which tokens are still in use.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def _now() -> datetime:
    return datetime.now(UTC)


async def resolve_token(store: UserStore, token_sha256_hex: str) -> ResolvedToken | None:
    """The caller of an active token (None when unknown or revoked), recording its use."""
    found = await store.principal_by_token_hash(token_sha256_hex)
    if found is None:
        return None
    token, user, memberships = found
    now = _now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        await store.touch_token(token.id, now)
    return ResolvedToken(
        principal=Principal(user=user, token_id=token.id, memberships=memberships),
        token_name=token.name,
        token_created_at=token.created_at,
    )


async def authenticate(store: UserStore, secret: str) -> Principal:
    """The user a bearer token belongs to; InvalidToken when unknown or revoked."""
    resolved = await resolve_token(store, token_sha256(secret))
    if resolved is None:
        raise InvalidToken()
    return resolved.principal


async def issue_token(store: UserStore, user: User, name: str) -> IssuedToken:
    secret = new_token()
    info = await store.add_token(user.id, name, token_sha256(secret), display_prefix(secret))
    return IssuedToken(info=info, secret=secret)


async def create_user(
    store: UserStore,
    caller: Principal,
    *,
    username: str,
    org: str | None,
    is_admin: bool,
    token_name: str,
    is_publisher: bool = False,
) -> tuple[User, IssuedToken]:
    """An administrator creates an account; its first token is returned (shown once)."""
    if not caller.user.is_admin:
        raise AdminRequired("create users")
    await store.lock_namespace(username)  # users and organisations share one namespace
    if await store.user_by_name(username) is not None:
        raise UserExists(username)
    if await store.org_exists(username):
        raise NamespaceTaken(username, "an organisation")
    user = await store.add_user(username, org, is_admin, is_publisher)
    return user, await issue_token(store, user, token_name)


async def list_tokens(store: UserStore, caller: Principal) -> list[TokenInfo]:
    return await store.tokens_of(caller.user.id)


async def revoke_token(store: UserStore, caller: Principal, token_id: str) -> None:
    """Revoke one of the caller's own tokens; anyone else's looks exactly like a missing one."""
    try:
        parsed = uuid.UUID(token_id)
    except ValueError:
        raise TokenNotFound(token_id) from None
    if not await store.revoke_token(caller.user.id, parsed, _now()):
        raise TokenNotFound(token_id)


async def ensure_bootstrap_admin(store: UserStore, username: str, secret: str | None) -> User:
    """Create or update the configured administrator and make `secret` one of its tokens.

    A changed ADMIN_TOKEN replaces the previous bootstrap token (revoked), so rotating the
    secret in the configuration and restarting is enough. The configuration is the source of
    truth: a bootstrap token revoked through the API comes back at the next start while it is
    still the configured one (issue 11, defect 8); to retire it, change or unset ADMIN_TOKEN.
    """
    user = await store.user_by_name(username)
    if user is None:
        user = await store.add_user(username, None, True)
    elif not user.is_admin:
        await store.update_user(user.id, org=user.org, is_admin=True)
    if secret is None:
        return user
    digest = token_sha256(secret)
    if not await store.token_exists(digest):
        await store.add_token(user.id, BOOTSTRAP_TOKEN_NAME, digest, display_prefix(secret))
    elif await store.restore_named_token(user.id, BOOTSTRAP_TOKEN_NAME, digest):
        log.warning("the revoked bootstrap token of %r is restored (it is ADMIN_TOKEN)", username)
    await store.revoke_named_tokens_except(user.id, BOOTSTRAP_TOKEN_NAME, digest, _now())
    return user
