"""Federation's administration on instance B (docs/federation.md): the `/v1/admin/peers` routes'
problems, an unreachable peer refused at registration and backed off at sync, the credentials
route for the builder (signed internal calls only), `modelbay admin peers` over real HTTP and
the `/admin/peers` page. Two in-process instances as in test_gateway_federation.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
import uvicorn
from federation_instances import (
    ORIGIN_URL,
    PROBLEM,
    Instances,
    browser_signed_in,
    ensure_peer_a,
    two_instances,
)
from gateway_stack import ADMIN, ADMIN_TOKEN
from modelbay.cli import build_app
from modelbay_common.embedded_pg import find_free_port
from modelbay_common.internal_auth import InternalAuth
from typer.testing import CliRunner, Result


@pytest.fixture(scope="module")
async def instances(
    module_database_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Instances]:
    async with two_instances(module_database_url, postgres_url, tmp_path_factory) as found:
        yield found


async def test_an_unreachable_peer_is_refused_or_backed_off(instances: Instances) -> None:
    async with instances.mirror_client() as admin:
        registered = await admin.post(
            "/v1/admin/peers",
            json={"name": "later-down", "url": ORIGIN_URL, "token": instances.peer_token},
        )
        assert registered.status_code == 201, registered.text
        instances.use_origin_transport(real_network=True)  # nothing listens on port 9
        try:
            refused = await admin.post(
                "/v1/admin/peers",
                json={"name": "down", "url": "http://127.0.0.1:9", "token": "t"},
            )
            assert refused.status_code == 424, refused.text
            assert refused.json()["type"].endswith("/peer-unreachable")
            await admin.patch("/v1/admin/peers/later-down", json={"url": "http://127.0.0.1:9"})
            waits = []
            for failures in (1, 2):
                outcome = (await admin.post("/v1/admin/peers/later-down/sync")).json()
                assert outcome["error"]
                assert "did not answer" in outcome["error"]
                status = (await admin.get("/v1/admin/peers/later-down")).json()["status"]
                assert status["consecutive_failures"] == failures
                assert status["last_error"] == outcome["error"]
                failed_at = datetime.fromisoformat(status["last_error_at"])
                next_at = datetime.fromisoformat(status["next_attempt_at"])
                waits.append((next_at - failed_at).total_seconds())
            # Both computed from the failure's own time (no clock of this test involved):
            # base 0.01 s, doubled for the second failure, jittered within [half, full].
            assert 0.005 <= waits[0] <= 0.01
            assert 0.01 <= waits[1] <= 0.02
        finally:
            instances.use_origin_transport()
        # The operator's view says which peer fails and why (modelbay admin status).
        status_path = "/internal/status"
        transport = httpx.ASGITransport(app=instances.mirror.apps["catalog"])
        async with httpx.AsyncClient(
            transport=transport, base_url="http://catalog", auth=InternalAuth()
        ) as catalog:
            federation = (await catalog.get(status_path)).json()["federation"]
        failing = {peer["peer"]: peer for peer in federation["failing"]}
        assert failing["later-down"]["consecutive_failures"] == 2
        assert "did not answer" in failing["later-down"]["last_error"]
        assert (await admin.delete("/v1/admin/peers/later-down")).status_code == 204
        assert (await admin.get("/v1/admin/peers/later-down")).status_code == 404


async def test_admin_routes_answer_problems(instances: Instances) -> None:
    await ensure_peer_a(instances)
    eve = await instances.mirror.stack.new_user("eve")
    async with instances.mirror_client(eve) as user:
        for method, path in [
            ("GET", "/v1/admin/peers"),
            ("POST", "/v1/admin/peers/a/sync"),
            ("DELETE", "/v1/admin/peers/a"),
        ]:
            refused = await user.request(method, path)
            assert refused.status_code == 403, path
            assert refused.json()["type"].endswith("/admin-required")
    async with instances.mirror_client(None) as anonymous:
        assert (await anonymous.get("/v1/federation/changes")).status_code == 401
    async with instances.mirror_client() as admin:
        cases = [
            (await admin.get("/v1/admin/peers/nobody"), 404, "/peer-not-found"),
            (await admin.get("/v1/admin/peers/Not_A_Name"), 422, None),
            (
                await admin.post(
                    "/v1/admin/peers", json={"name": "x", "url": "ftp://x.example", "token": "t"}
                ),
                400,
                "/invalid-peer",
            ),
            (
                await admin.post(
                    "/v1/admin/peers", json={"name": "a", "url": ORIGIN_URL, "token": "t"}
                ),
                409,
                "/peer-exists",
            ),
            (await admin.post("/v1/admin/peers", json={"name": "y"}), 422, None),
            (await admin.get("/v1/federation/changes", params={"after": "x"}), 422, None),
        ]
    for response, status, slug in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == PROBLEM
        if slug:
            assert response.json()["type"].endswith(slug)


async def test_the_credentials_route_answers_signed_internal_calls_only(
    instances: Instances,
) -> None:
    await ensure_peer_a(instances)
    path = "/internal/federation/peers/a/credentials"
    transport = httpx.ASGITransport(app=instances.mirror.apps["catalog"])
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as unsigned:
        refused = await unsigned.get(path)
    assert refused.status_code == 401
    assert instances.peer_token not in refused.text
    async with httpx.AsyncClient(
        transport=transport, base_url="http://catalog", auth=InternalAuth()
    ) as signed:
        answered = await signed.get(path)
    assert answered.status_code == 200
    assert answered.json() == {"url": ORIGIN_URL, "token": instances.peer_token}


async def test_modelbay_admin_peers_commands_against_the_gateway(instances: Instances) -> None:
    """The CLI against B's gateway served over real HTTP (B reaches A in-process as before)."""
    await ensure_peer_a(instances)
    port = find_free_port()
    server = uvicorn.Server(
        uvicorn.Config(instances.mirror.apps["gateway"], port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    common = ["--url", f"http://127.0.0.1:{port}", "--token", ADMIN_TOKEN]

    async def run(*argv: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, build_app(), [*argv, *common])

    try:
        for _ in range(1200):  # a bound on waiting for the server, never a timing assertion
            if server.started:
                break
            await asyncio.sleep(0.05)
        table = await run("admin", "peers", "list")
        listed = await run("admin", "peers", "list", "--json")
        shown = await run("admin", "peers", "show", "a", "--json")
        synced = await run("admin", "peers", "sync", "a")
        missing = await run("admin", "peers", "show", "nobody")
    finally:
        server.should_exit = True
        await serving
    assert table.exit_code == 0, table.output
    assert listed.exit_code == 0, listed.output
    assert ORIGIN_URL in [peer["url"] for peer in json.loads(listed.output)]
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["name"] == "a"
    assert synced.exit_code == 0, synced.output
    assert "a: " in synced.output
    assert "requested" in synced.output
    assert missing.exit_code == 1
    assert "nobody" in missing.output


async def test_the_peers_page_lists_peers_for_administrators_only(instances: Instances) -> None:
    await ensure_peer_a(instances)
    async with browser_signed_in(instances, ADMIN, ADMIN_TOKEN) as admin:
        page = await admin.get("/admin/peers")
    assert page.status_code == 200
    assert ORIGIN_URL in page.text
    assert 'href="/admin/peers"' in page.text  # the administrator's nav link
    frank = await instances.mirror.stack.new_user("frank")
    async with browser_signed_in(instances, "frank", frank) as user:
        refused = await user.get("/admin/peers")
        home = await user.get("/")
    assert refused.status_code == 403
    assert ORIGIN_URL not in refused.text
    assert 'href="/admin/peers"' not in home.text
