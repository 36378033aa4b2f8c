"""Failed authentications are limited per client address (issue 11, defect 8): 429 with
`Retry-After` on the `/v1` bearer authentication, the web sign-in and the registry token
endpoint, and a client at its limit is refused before its secret is looked up. Before, 47 tries
a second went through, each a database transaction. Real Postgres (the gateway stack)."""

from __future__ import annotations

import re

import httpx
from gateway_stack import ADMIN_TOKEN, Stack
from modelbay_common.registry_auth import RegistryTokenIssuer
from modelbay_embedded.inprocess import InProcessTransport
from modelbay_gateway.auth_throttle import FailedAuthThrottle

LIMIT = 3


def _from(stack: Stack, address: str, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=InProcessTransport(stack.gateway_app, client=(address, 40000)),
        base_url="http://gateway",
        headers=headers,
        timeout=60,
    )


def _fresh_throttle(stack: Stack) -> FailedAuthThrottle:
    throttle = FailedAuthThrottle(LIMIT, window_seconds=600)
    stack.gateway_app.state.auth_throttle = throttle
    return throttle


def _assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 600


async def test_wrong_bearer_tokens_are_limited_per_client_then_429(stack: Stack) -> None:
    _fresh_throttle(stack)
    async with _from(stack, "10.0.0.1", "mb_guess") as guesser:
        tries = [await guesser.get("/v1/me") for _ in range(LIMIT)]
        refused = await guesser.get("/v1/me")
    assert [answer.status_code for answer in tries] == [401] * LIMIT
    _assert_throttled(refused)
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/too-many-failed-authentications")
    # The right token from the same address waits too (the limit is checked before the lookup);
    # another address is not affected.
    async with _from(stack, "10.0.0.1", ADMIN_TOKEN) as same_address:
        _assert_throttled(await same_address.get("/v1/me"))
    async with _from(stack, "10.0.0.2", ADMIN_TOKEN) as elsewhere:
        assert (await elsewhere.get("/v1/me")).status_code == 200


async def test_failed_web_sign_ins_are_limited(stack: Stack) -> None:
    _fresh_throttle(stack)
    async with _from(stack, "10.0.0.3") as browser:
        form = await browser.get("/signin")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert found
        data = {"csrf_token": found.group(1), "username": "admin", "token": "mb_wrong"}
        tries = [await browser.post("/signin", data=data) for _ in range(LIMIT)]
        refused = await browser.post("/signin", data=data)
    assert [answer.status_code for answer in tries] == [400] * LIMIT
    _assert_throttled(refused)
    assert "Too many failed sign-ins" in refused.text


async def test_wrong_registry_credentials_are_limited(
    stack: Stack, registry_tokens: RegistryTokenIssuer | None
) -> None:
    assert registry_tokens is not None, "the shared registry runs with token auth (docs/trust.md)"
    _fresh_throttle(stack)
    configured = stack.gateway_app.state.registry_tokens
    stack.gateway_app.state.registry_tokens = registry_tokens
    try:
        async with _from(stack, "10.0.0.4", "mb_guess") as guesser:
            tries = [await guesser.get("/v1/registry/token") for _ in range(LIMIT)]
            refused = await guesser.get("/v1/registry/token")
    finally:
        stack.gateway_app.state.registry_tokens = configured
    assert [answer.status_code for answer in tries] == [401] * LIMIT
    _assert_throttled(refused)
