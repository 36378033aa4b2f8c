"""Resolved tokens are kept in memory (auth_cache.py) yet every change made through the gateway
applies to the very next request; a change made behind its back waits for the TTL (real Postgres).

The TTL is an hour here, so a pass cannot come from an entry that expired by chance.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from gateway_curation import new_org
from gateway_stack import ADMIN_TOKEN, Stack
from modelbay_gateway.auth_cache import PrincipalCache
from modelbay_gateway.context import GatewayContext


@pytest.fixture(scope="module")
def gateway_overrides() -> dict[str, Any]:
    return {"auth_cache_seconds": 3600.0}


def principals(stack: Stack) -> PrincipalCache:
    context = stack.gateway_app.state.context
    assert isinstance(context, GatewayContext)
    return context.principals


async def test_a_revocation_through_the_api_refuses_the_very_next_request(stack: Stack) -> None:
    token = await stack.new_user("rev-carol")
    async with stack.client(token) as carol:
        me = await carol.get("/v1/me")
        assert me.status_code == 200
        assert (await carol.get("/v1/me")).status_code == 200  # answered from the cache
        revoked = await carol.delete(f"/v1/tokens/{me.json()['token_id']}")
        assert revoked.status_code == 204
        refused = await carol.get("/v1/me")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"


async def test_membership_and_publisher_changes_apply_at_once(stack: Stack) -> None:
    owner, member = await stack.new_user("pc-olga"), await stack.new_user("pc-mark")
    async with stack.client(member) as mark:
        assert (await mark.get("/v1/me")).json()["orgs"] == []  # cached with no organisation
        await new_org(stack, owner, "pc-lab", {"pc-mark": "reader"})
        assert (await mark.get("/v1/me")).json()["orgs"] == [{"org": "pc-lab", "role": "reader"}]
        async with stack.client(owner) as olga:
            changed = await olga.put("/v1/orgs/pc-lab/members/pc-mark", json={"role": "maintainer"})
            assert changed.status_code == 200, changed.text
            roles = (await mark.get("/v1/me")).json()["orgs"]
            assert roles == [{"org": "pc-lab", "role": "maintainer"}]
            removed = await olga.delete("/v1/orgs/pc-lab/members/pc-mark")
            assert removed.status_code == 204
        assert (await mark.get("/v1/me")).json()["orgs"] == []
        async with stack.client(ADMIN_TOKEN) as admin:
            granted = await admin.put("/v1/users/pc-mark/publisher", json={"publisher": True})
            assert granted.status_code == 200, granted.text
        assert (await mark.get("/v1/me")).json()["is_publisher"] is True


async def test_a_change_behind_the_gateways_back_waits_for_the_ttl(stack: Stack) -> None:
    """Another gateway process (here: SQL) revoking a token is seen once the entry expires."""
    token = await stack.new_user("pc-erin")
    cache = principals(stack)
    async with stack.client(token) as erin:
        token_id = (await erin.get("/v1/me")).json()["token_id"]
        connection = await asyncpg.connect(
            stack.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        )
        try:
            await connection.execute(
                "UPDATE gateway.api_tokens SET revoked_at = now() WHERE id = $1::uuid", token_id
            )
        finally:
            await connection.close()
        assert (await erin.get("/v1/me")).status_code == 200  # still the cached caller
        clock = cache.clock
        started = clock()
        cache.clock = lambda: started + 3600.0  # the TTL has passed
        try:
            assert (await erin.get("/v1/me")).status_code == 401
        finally:
            cache.clock = clock
