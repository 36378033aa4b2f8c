"""Routes of accounts: `/v1/me`, `/v1/users`, `/v1/tokens`."""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from fastapi import APIRouter, Response
from modelbay_common.db import transaction
from sqlalchemy.exc import IntegrityError

from modelbay_gateway.audit import AuditLog
from modelbay_gateway.auth import SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.errors import UserExists
from modelbay_gateway.schemas import (
    IssuedTokenOut,
    MembershipOut,
    MeOut,
    TokenIn,
    TokenOut,
    UserCreatedOut,
    UserIn,
    UserOut,
)
from modelbay_gateway.service import create_user, issue_token, list_tokens, revoke_token
from modelbay_gateway.store import UserStore

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.get("/me", response_model=MeOut)
async def me(principal: SignedIn) -> MeOut:
    """Who the token belongs to."""
    orgs = [MembershipOut(org=m.org, role=m.role) for m in principal.memberships]
    return MeOut(**UserOut.of(principal.user).model_dump(), token_id=principal.token_id, orgs=orgs)


@router.post("/users", response_model=UserCreatedOut, status_code=201)
async def new_user(principal: SignedIn, body: UserIn, context: ContextDep) -> UserCreatedOut:
    """Create an account (administrators only); the answer holds its first token, once."""
    try:
        async with transaction(context.sessions) as session:
            user, token = await create_user(
                UserStore(session),
                principal,
                username=body.username,
                org=body.org,
                is_admin=body.is_admin,
                token_name=body.token_name,
                is_publisher=body.is_publisher,
            )
            audit = AuditLog(session)
            await audit.record(
                principal.user.username,
                "user.created",
                user.username,
                {"org": user.org, "is_admin": user.is_admin, "is_publisher": user.is_publisher},
            )
            await audit.record(
                principal.user.username,
                "token.created",
                f"token:{token.info.id}",
                {"user": user.username, "name": token.info.name},
            )
    except IntegrityError:  # created concurrently by another request
        raise UserExists(body.username) from None
    return UserCreatedOut(user=UserOut.of(user), token=IssuedTokenOut.issued(token))


@router.get("/tokens", response_model=list[TokenOut])
async def tokens(principal: SignedIn, context: ContextDep) -> list[TokenOut]:
    """The caller's tokens, without their secrets."""
    async with transaction(context.sessions) as session:
        found = await list_tokens(UserStore(session), principal)
    return [TokenOut.of(token) for token in found]


@router.post("/tokens", response_model=IssuedTokenOut, status_code=201)
async def new_token(principal: SignedIn, body: TokenIn, context: ContextDep) -> IssuedTokenOut:
    """A new token for the caller; the secret is in this answer only."""
    async with transaction(context.sessions) as session:
        issued = await issue_token(UserStore(session), principal.user, body.name)
        await AuditLog(session).record(
            principal.user.username,
            "token.created",
            f"token:{issued.info.id}",
            {"user": principal.user.username, "name": issued.info.name},
        )
    return IssuedTokenOut.issued(issued)


@router.delete("/tokens/{token_id}", status_code=204, response_class=Response)
async def delete_token(principal: SignedIn, token_id: str, context: ContextDep) -> Response:
    """Revoke one of the caller's tokens; it stops working at once."""
    async with transaction(context.sessions) as session:
        await revoke_token(UserStore(session), principal, token_id)
        await AuditLog(session).record(
            principal.user.username,
            "token.revoked",
            f"token:{token_id}",
            {"user": principal.user.username},
        )
    return Response(status_code=204)
