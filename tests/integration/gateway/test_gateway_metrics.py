"""Issue 15: every service's `/metrics`, scraped before and after a push through the stack.

The stack is the in-process one of this directory (gateway, catalog, onboarding on real Postgres,
the in-process bus), built here so each service's own app is scraped, not only the gateway's.
The internal services' `/metrics` answer without the internal signature (a scraper has none).
The series must move where the push went: HTTP requests by route template, the upload's size, a
refused upload's reason, events published by onboarding's outbox relay and consumed by the
catalog, and the scrape-time reads of outbox backlog and dead letters.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from gateway_services import in_process_services
from gateway_stack import ADMIN_TOKEN, Stack
from modelbay.cli import build_app
from modelbay_common.embedded_pg import find_free_port
from modelbay_embedded.inprocess import InProcessTransport
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

RULES = Path(__file__).resolve().parents[3] / "deploy/monitoring/prometheus/alerts.yml"
POLLS = 1200  # a bound on waiting for the server, never a timing assertion
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class MeteredStack:
    stack: Stack
    apps: dict[str, object]

    async def scrape(self, service: str) -> Samples:
        transport = InProcessTransport(self.apps[service])  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            response = await client.get("/metrics")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        samples: Samples = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return samples

    async def outboxes_drain(self) -> bool:
        """Whether every outbox backlog reads 0 within a bounded number of scrapes."""
        for _ in range(200):
            samples = await self.scrape("catalog")
            if value(samples, "modelbay_outbox_backlog_events") == 0:
                return True
            await asyncio.sleep(0.05)
        return False


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def present(samples: Samples, name: str, **labels: str) -> bool:
    wanted = set(labels.items())
    return any(n == name and wanted <= found for (n, found) in samples)


@pytest.fixture(scope="module")
async def metered(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MeteredStack]:
    blob_dir = tmp_path_factory.mktemp("blobs")
    async with in_process_services(module_database_url, blob_dir) as services:
        yield MeteredStack(services.stack, services.apps)


async def test_a_push_moves_the_key_series_of_every_service(
    metered: MeteredStack, archive_bytes: bytes
) -> None:
    before = {name: await metered.scrape(name) for name in metered.apps}
    stack = metered.stack
    token = await stack.new_user("metered")

    refused = await stack.push(token, "metered", "broken", b"this is not a gzip archive")
    assert refused.status_code in (400, 413, 415, 422), refused.text
    pushed = await stack.push(token, "metered", "adder", archive_bytes)
    assert pushed.status_code == 202, pushed.text
    version = int(pushed.json()["version"])
    detail = await stack.wait_for_version(token, "metered", "adder", version)
    await stack.make_ready("metered", "adder", version, detail["bundle"]["sha256"])
    await stack.bus.drain()

    after = {name: await metered.scrape(name) for name in metered.apps}
    gateway, onboarding, catalog = after["gateway"], after["onboarding"], after["catalog"]
    push_route = {"service": "gateway", "route": "/v1/models/{owner}/{name}/versions"}
    requests = "modelbay_http_requests_total"
    assert (
        value(gateway, requests, **push_route, method="POST", status="202")
        - value(before["gateway"], requests, **push_route, method="POST", status="202")
        == 1
    )
    upload_route = {"service": "onboarding", "route": "/internal/uploads/{owner}/{name}"}
    assert value(onboarding, requests, **upload_route, status="202") > value(
        before["onboarding"], requests, **upload_route, status="202"
    )
    assert value(onboarding, "modelbay_upload_bytes_count") > value(
        before["onboarding"], "modelbay_upload_bytes_count"
    )
    assert value(onboarding, "modelbay_upload_bytes_sum") >= len(archive_bytes)
    assert value(onboarding, "modelbay_upload_rejects_total") > value(
        before["onboarding"], "modelbay_upload_rejects_total"
    )

    uploaded = {"service": "onboarding", "type": "modelbay.model.uploaded.v1"}
    published = "modelbay_events_published_total"
    assert value(onboarding, published, **uploaded) > value(
        before["onboarding"], published, **uploaded
    )
    consumed = "modelbay_events_consumed_total"
    built = {"type": "modelbay.model.image_built.v1", "outcome": "handled"}
    assert value(catalog, consumed, **built) > value(before["catalog"], consumed, **built)
    assert value(catalog, "modelbay_event_handler_duration_seconds_count") > value(
        before["catalog"], "modelbay_event_handler_duration_seconds_count"
    )

    # Read on scrape from the database and the bus: present, and the relays drain the outboxes.
    for service in ("onboarding", "catalog", "gateway"):
        assert present(catalog, "modelbay_outbox_backlog_events", service=service)
    assert await metered.outboxes_drain(), "an outbox kept unpublished rows"
    assert present(catalog, "modelbay_dlq_messages")
    assert value(catalog, "modelbay_dlq_messages") == 0
    assert present(gateway, "modelbay_sse_subscribers")
    assert value(gateway, "modelbay_scrape_probe_failures_total") == 0


async def test_a_route_that_matches_nothing_is_one_series_not_one_per_path(
    metered: MeteredStack,
) -> None:
    async with metered.stack.client() as client:
        for suffix in ("a", "b", "c"):
            assert (await client.get(f"/no-such-page-{suffix}")).status_code == 404
    samples = await metered.scrape("gateway")
    routes = {
        dict(labels)["route"]
        for (name, labels) in samples
        if name == "modelbay_http_requests_total" and dict(labels)["service"] == "gateway"
    }
    assert "unmatched" in routes
    assert not any(route.startswith("/no-such-page") for route in routes)


async def test_the_operators_view_reports_every_service(metered: MeteredStack) -> None:
    stack = metered.stack
    user = await stack.new_user("not-an-operator")
    async with stack.client(user) as client:
        refused = await client.get("/v1/admin/status")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")

    async with stack.client(ADMIN_TOKEN) as admin:
        response = await admin.get("/v1/admin/status")
    assert response.status_code == 200, response.text
    view = response.json()
    by_name = {status["service"]: status for status in view["services"]}
    assert set(by_name) == {"gateway", "onboarding", "catalog", "builder"}
    for name in ("gateway", "onboarding", "catalog"):
        status = by_name[name]
        assert status["live"] is True, status
        assert status["ready"] is True, status
        assert status["problems"] == {}
        assert set(status["outbox"]) == {"backlog", "oldest_age_seconds"}
        for queue in status["queues"].values():
            assert queue == {"messages": queue["messages"], "dead_letters": 0}
    # This stack runs no builder: the view says so instead of failing.
    assert by_name["builder"]["ready"] is False
    assert "reachable" in by_name["builder"]["problems"]
    summary = view["summary"]
    assert summary["not_ready"] == ["builder"]
    assert summary["dead_letters"] == 0
    assert summary["all_live"] is False


async def test_internal_status_needs_the_internal_signature(metered: MeteredStack) -> None:
    transport = InProcessTransport(metered.apps["catalog"])  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        unsigned = await client.get("/internal/status")
    assert unsigned.status_code == 401
    gateway = InProcessTransport(metered.apps["gateway"])  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=gateway, base_url="http://gw") as client:
        assert (await client.get("/internal/status")).status_code == 404  # the gateway is public


async def test_modelbay_admin_status_prints_the_view(metered: MeteredStack) -> None:
    """The CLI against the gateway served over real HTTP: the table, and exit 1 because this
    stack has no builder (a script can act on the exit status)."""
    port = find_free_port()
    config = uvicorn.Config(metered.apps["gateway"], port=port, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(POLLS):
            if server.started:
                break
            await asyncio.sleep(0.05)
        argv = ["admin", "status", "--url", f"http://127.0.0.1:{port}", "--token", ADMIN_TOKEN]
        table = await asyncio.to_thread(CliRunner().invoke, build_app(), argv)
        as_json = await asyncio.to_thread(CliRunner().invoke, build_app(), [*argv, "--json"])
    finally:
        server.should_exit = True
        await serving
    assert table.exit_code == 1, table.output
    for service in ("gateway", "onboarding", "catalog", "builder"):
        assert service in table.output
    assert "not ready: builder" in table.output
    assert "builds in flight: 0" in table.output
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["summary"]["not_ready"] == ["builder"]


async def test_a_real_prometheus_scrapes_the_gateway_with_the_alert_rules(
    metered: MeteredStack, tmp_path: Path
) -> None:
    """Debian's Prometheus server scrapes `/metrics` over HTTP and loads deploy/monitoring's
    rules: the target is up, the series are queryable, the seven rules are loaded."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: run scripts/bootstrap.sh (Debian package 'prometheus')"
    app_port = find_free_port()
    prometheus_port = find_free_port()
    while prometheus_port == app_port:  # a port just probed may be handed out again
        prometheus_port = find_free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 2s, scrape_timeout: 2s, evaluation_interval: 2s}\n"
        f"rule_files: ['{RULES}']\n"
        "scrape_configs:\n"
        "  - job_name: modelbay-gateway\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{app_port}']}}]\n"
    )
    server = uvicorn.Server(
        uvicorn.Config(metered.apps["gateway"], port=app_port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    prometheus = await asyncio.create_subprocess_exec(
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prometheus_port}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{prometheus_port}/api/v1"
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            requests = "modelbay_http_requests_total"
            series: list[Any] = []
            for _ in range(POLLS):  # Prometheus starts in seconds on a busy machine
                try:
                    await client.get(f"http://127.0.0.1:{app_port}/readyz")  # traffic to count
                    # /readyz is one of the host's plain routes: labelled by its path too.
                    query = {"query": f'{requests}{{service="gateway", route="/readyz"}}'}
                    answer = (await client.get(f"{api}/query", params=query)).json()
                    series = answer["data"]["result"]
                except (httpx.HTTPError, ValueError, KeyError):
                    series = []
                if series:
                    break
                await asyncio.sleep(0.1)
            if not series:
                names = {"query": 'count by (__name__, route) ({__name__=~"modelbay_http.*"})'}
                targets = (await client.get(f"{api}/query", params=names)).text
                raise AssertionError(f"Prometheus never scraped the gateway's series: {targets}")
            up = (await client.get(f"{api}/query", params={"query": "up"})).json()
            assert [r["value"][1] for r in up["data"]["result"]] == ["1"]
            rules = (await client.get(f"{api}/rules")).json()["data"]["groups"]
            assert sum(len(group["rules"]) for group in rules) == 7
    finally:
        prometheus.terminate()
        await asyncio.wait_for(prometheus.wait(), timeout=30)
        server.should_exit = True
        await serving
