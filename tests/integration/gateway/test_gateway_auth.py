"""Users and tokens: bearer authentication, hashed storage, administration, revocation."""

from __future__ import annotations

import hashlib

import asyncpg
from gateway_stack import ADMIN, ADMIN_TOKEN, Stack

PROBLEM = "application/problem+json"


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_no_token_is_401_problem_with_a_bearer_challenge(stack: Stack) -> None:
    async with stack.client() as anonymous:
        for path in ("/v1/me", "/v1/models", "/v1/models/root/x", "/v1/events"):
            response = await anonymous.get(path)
            assert response.status_code == 401, path
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["type"].endswith("/missing-token")
            assert "Authorization: Bearer" in response.json()["detail"]


async def test_unknown_or_malformed_token_is_401(stack: Stack) -> None:
    async with stack.client("mb_not-a-real-token") as client:
        response = await client.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/invalid-token")
    async with stack.client() as client:
        response = await client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-token")


async def test_bootstrap_admin_from_settings(stack: Stack) -> None:
    async with stack.client(ADMIN_TOKEN) as admin:
        me = (await admin.get("/v1/me")).json()
    assert me["username"] == ADMIN
    assert me["is_admin"] is True


async def test_admin_creates_user_whose_token_is_stored_only_hashed(stack: Stack) -> None:
    token = await stack.new_user("hashed-alice", org="acme")
    async with stack.client(token) as alice:
        me = (await alice.get("/v1/me")).json()
    assert (me["username"], me["org"], me["is_admin"]) == ("hashed-alice", "acme", False)
    connection = await asyncpg.connect(_plain_dsn(stack.database_url))
    try:
        rows = await connection.fetch(
            "SELECT t.* FROM gateway.api_tokens t JOIN gateway.users u ON u.id = t.user_id "
            "WHERE u.username = 'hashed-alice'"
        )
    finally:
        await connection.close()
    assert len(rows) == 1
    row = dict(rows[0])
    assert row["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in [str(value) for value in row.values()]
    assert row["last_used_at"] is not None  # the /v1/me call above used it


async def test_only_admins_create_users_and_names_are_unique(stack: Stack) -> None:
    token = await stack.new_user("plain-bob")
    async with stack.client(token) as bob:
        response = await bob.post("/v1/users", json={"username": "mallory"})
    assert response.status_code == 403
    assert response.json()["type"].endswith("/admin-required")
    async with stack.client(ADMIN_TOKEN) as admin:
        again = await admin.post("/v1/users", json={"username": "plain-bob"})
        invalid = await admin.post("/v1/users", json={"username": "Not Valid!"})
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert invalid.status_code == 422
    assert "username" in invalid.json()["detail"]


async def test_new_token_shown_once_and_revocation_takes_effect(stack: Stack) -> None:
    first = await stack.new_user("carol")
    async with stack.client(first) as carol:
        created = await carol.post("/v1/tokens", json={"name": "laptop"})
        assert created.status_code == 201
        second = created.json()["token"]
        listed = (await carol.get("/v1/tokens")).json()
    assert {token["name"] for token in listed} == {"default", "laptop"}
    assert all("token" not in token for token in listed)  # secrets are never listed
    async with stack.client(second) as laptop:
        assert (await laptop.get("/v1/me")).status_code == 200
        revoked = await laptop.delete(f"/v1/tokens/{created.json()['id']}")
        assert revoked.status_code == 204
        assert (await laptop.get("/v1/me")).status_code == 401
    async with stack.client(first) as carol:
        assert (await carol.get("/v1/me")).status_code == 200


async def test_nobody_revokes_another_users_token(stack: Stack) -> None:
    dave = await stack.new_user("dave")
    erin = await stack.new_user("erin")
    async with stack.client(erin) as client:
        erin_token_id = (await client.get("/v1/me")).json()["token_id"]
    async with stack.client(dave) as client:
        response = await client.delete(f"/v1/tokens/{erin_token_id}")
        garbage = await client.delete("/v1/tokens/not-a-uuid")
    assert response.status_code == 404
    assert garbage.status_code == 404
    async with stack.client(erin) as client:
        assert (await client.get("/v1/me")).status_code == 200


async def test_openapi_documents_the_public_api(stack: Stack) -> None:
    async with stack.client() as anonymous:
        document = (await anonymous.get("/v1/openapi.json")).json()
        docs = await anonymous.get("/v1/docs")
    assert docs.status_code == 200
    paths = document["paths"]
    for path in (
        "/v1/me",
        "/v1/users",
        "/v1/tokens",
        "/v1/models",
        "/v1/models/{owner}/{name}/versions",
        "/v1/models/{owner}/{name}/versions/{version}",
        "/v1/models/{owner}/{name}/publish",
        "/v1/models/{owner}/{name}/versions/{version}/bundle",
        "/v1/models/{owner}/{name}/versions/{version}/image",
        "/v1/events",
    ):
        assert path in paths, path
    assert "HTTPBearer" in document["components"]["securitySchemes"]
