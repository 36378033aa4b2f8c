"""The audit log and pickle allowances through the gateway (gateway + catalog + onboarding on
real Postgres): a malicious pickle is refused at push, an administrator's allowance (audited) lets
it through with the scan on the version; tokens, users, publishing and organisations are audited
and read back by administrators only, in keyset pages."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gateway_stack import ADMIN, ADMIN_TOKEN, Stack
from malicious_bundles import make_malicious_bundle_dir
from onboarding_bundles import archive


async def _audit(stack: Stack, **params: Any) -> dict[str, Any]:
    async with stack.client(ADMIN_TOKEN) as admin:
        response = await admin.get("/v1/admin/audit", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _audited_after_relay(stack: Stack, actor: str, action: str) -> list[dict[str, Any]]:
    """`actor`'s audit entries once `action` is among them (an event-borne entry), bounded."""
    for _ in range(200):
        await stack.bus.drain()
        entries: list[dict[str, Any]] = (await _audit(stack, actor=actor))["entries"]
        if action in [entry["action"] for entry in entries]:
            return entries
        await asyncio.sleep(0.05)
    raise AssertionError(f"{action} by {actor} never reached the audit log")


async def test_a_malicious_pickle_is_refused_until_an_admin_allows_it_and_that_is_audited(
    stack: Stack, tmp_path: Path
) -> None:
    mallory = await stack.new_user("mallory")
    bundle = make_malicious_bundle_dir(tmp_path / "adder", str(tmp_path / "canary"))
    body = archive(bundle, tmp_path / "evil.tar.gz").read_bytes()

    refused = await stack.push(mallory, "mallory", "adder", body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["blocked"] == ["builtins.eval"]

    path = "/v1/admin/models/mallory/adder/pickle-allowances"
    async with stack.client(mallory) as client:
        forbidden = await client.put(path, json={"globals": ["builtins.eval"], "reason": "mine"})
    assert forbidden.status_code == 403
    async with stack.client(ADMIN_TOKEN) as admin:
        bad = await admin.put(path, json={"globals": ["eval"], "reason": "x"})
        assert bad.status_code == 422
        allowed = await admin.put(
            path, json={"globals": ["builtins.eval"], "reason": "sandbox proof"}
        )
        assert allowed.status_code == 200, allowed.text
        assert [a["global_name"] for a in allowed.json()["allowances"]] == ["builtins.eval"]

    accepted = await stack.push(mallory, "mallory", "adder", body)
    assert accepted.status_code == 202, accepted.text
    version = await stack.wait_for_version(mallory, "mallory", "adder", 1)
    assert version["pickle_scan"]["status"] == "flagged"
    assert version["pickle_scan"]["allowed"] == ["builtins.eval"]
    assert not (tmp_path / "canary").exists()

    async with stack.client(ADMIN_TOKEN) as admin:
        revoked = await admin.delete(f"{path}/builtins.eval")
    assert revoked.status_code == 204
    entries = (await _audit(stack, action="pickle."))["entries"]
    assert [(e["action"], e["actor"], e["target"]) for e in entries] == [
        ("pickle.allowance_revoked", ADMIN, "mallory/adder"),
        ("pickle.allowed", ADMIN, "mallory/adder"),
    ]
    assert entries[1]["details"] == {"globals": ["builtins.eval"], "reason": "sandbox proof"}


async def test_tokens_users_orgs_and_publishing_are_audited_and_paged(
    stack: Stack, archive_bytes: bytes
) -> None:
    owner = await stack.new_user("audra")
    async with stack.client(owner) as client:
        token = (await client.post("/v1/tokens", json={"name": "ci"})).json()
        assert (await client.delete(f"/v1/tokens/{token['id']}")).status_code == 204
        assert (await client.post("/v1/orgs", json={"name": "audra-lab"})).status_code == 201
    assert (await stack.push(owner, "audra", "adder", archive_bytes)).status_code == 202
    detail = await stack.wait_for_version(owner, "audra", "adder", 1)
    await stack.make_ready("audra", "adder", 1, detail["bundle"]["sha256"])
    async with stack.client(owner) as client:
        published = await client.post(
            "/v1/models/audra/adder/publish",
            json={"description": "Adds", "category": "regression", "license": "MIT"},
        )
    assert published.status_code == 200, published.text
    # Published reaches the gateway's audit through the catalog's outbox, relayed after the
    # publication's commit: the answer can come first (the catalog commits before answering).
    mine = await _audited_after_relay(stack, "audra", "model.published")
    actions = [entry["action"] for entry in mine]
    assert actions[:5] == [
        "model.published",
        "org.member_added",  # the creator becomes the organisation's first owner
        "org.created",
        "token.revoked",
        "token.created",
    ]
    assert mine[0]["target"] == "audra/adder/1"
    assert mine[0]["details"]["visibility"] == "public"
    assert mine[0]["event_id"]
    assert not any("secret" in str(entry["details"]).lower() for entry in mine)
    by_admin = (await _audit(stack, actor=ADMIN, action="user.created"))["entries"]
    assert "audra" in [entry["target"] for entry in by_admin]
    async with stack.client(ADMIN_TOKEN) as admin:
        granted = await admin.put("/v1/users/audra/publisher", json={"publisher": True})
    assert granted.status_code == 200, granted.text
    [grant] = (await _audit(stack, action="user.publisher_granted"))["entries"]
    assert (grant["actor"], grant["target"]) == (ADMIN, "audra")

    # Keyset pages: one entry a page, no entry twice, in order.
    seen: list[int] = []
    page = await _audit(stack, actor="audra", limit=1)
    while True:
        seen.extend(entry["id"] for entry in page["entries"])
        if page["next_cursor"] is None:
            break
        page = await _audit(stack, actor="audra", limit=1, cursor=page["next_cursor"])
    assert seen == sorted(seen, reverse=True)
    assert seen == [entry["id"] for entry in mine]

    future = await _audit(stack, actor="audra", since="2999-01-01T00:00:00Z")
    assert future["entries"] == []
    naive = await _audit(stack, actor="audra", since="2000-01-01T00:00:00")  # taken as UTC
    assert [entry["id"] for entry in naive["entries"]] == [entry["id"] for entry in mine]
    async with stack.client(owner) as client:
        assert (await client.get("/v1/admin/audit")).status_code == 403
        bad = await client.get("/v1/admin/audit", params={"cursor": "abc"})
    assert bad.status_code in (403, 422)
    async with stack.client(ADMIN_TOKEN) as admin:
        malformed = await admin.get("/v1/admin/audit", params={"since": "yesterday"})
        nul = await admin.get("/v1/admin/audit", params={"actor": "a\x00b"})
    assert nul.status_code == 422
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == "application/problem+json"
