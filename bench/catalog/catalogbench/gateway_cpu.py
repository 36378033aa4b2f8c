"""The gateway's own CPU per read request, one request at a time (issue 9, "Speed").

`PYTHONPATH=bench/catalog .tools/bin/uv run --frozen python -m catalogbench.gateway_cpu --setup`
once (a database of its own, `bench_gateway_cpu`: the gateway and catalog schemas and a small
seeded catalog whose answers to one search and one model page are recorded under
bench/catalog/work/), then without `--setup` as often as wanted. Each round builds the gateway by
its composition root in this process, with the catalog replaced by its recorded answers
(`httpx.MockTransport`), and calls the ASGI app directly (no HTTP server, no HTTP client on the
caller's side), so the figure is what the gateway's own code costs a request: middleware, routing,
authentication (its real Postgres round trips), the signed internal call, the answer.

Interleaved A/B rounds: run it with `PYTHONPATH=<copy of the old sources>:bench/catalog` and with
the working tree one after the other; every round prints one line with the UTC time and the
1-minute load average. `--profile` adds a cProfile listing per route.

`--served`: the same two requests through the real processes instead (`python -m
modelbay_catalog` and `python -m modelbay_gateway` under uvicorn on this database, wrk with 1 and
8 connections): p50/p95 and the CPU ms per request of the gateway and catalog processes and the
database's backends, the HTTP server and the real internal hop included.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from modelbay_common.access import Caller, caller_headers
from modelbay_common.internal_auth import InternalAuth
from modelbay_common.migrations import upgrade

from catalogbench import load, seed, stack
from catalogbench.__main__ import ROOT, database_url
from catalogbench.profile_requests import environment

ANSWERS = ROOT / "bench" / "catalog" / "work" / "gateway_cpu_answers.json"
SEARCH = {"q": "forecast"}
READER = "bench-gateway-cpu-reader"

AsgiCall = Callable[[], Awaitable[int]]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="catalogbench.gateway_cpu", description=__doc__)
    parser.add_argument("--database", default="bench_gateway_cpu")
    parser.add_argument("--setup", action="store_true", help="(re)create, seed and record")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--label", default=os.environ.get("GATEWAY_CPU_LABEL", "current"))
    parser.add_argument(
        "--auth-cache-seconds",
        type=float,
        default=None,
        help="the gateway's AUTH_CACHE_SECONDS (0: every request resolves its token)",
    )
    parser.add_argument(
        "--replay-over-http",
        action="store_true",
        help="the recorded catalog is a process of its own on loopback (the gateway's real "
        "internal HTTP client and transport are measured), instead of httpx.MockTransport",
    )
    parser.add_argument("--serve-recorded", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--served", action="store_true", help="real processes and wrk")
    parser.add_argument("--seconds", type=float, default=8.0, help="per --served cell")
    parser.add_argument("--top", type=int, default=30)
    return parser.parse_args()


async def set_up(url: str, secret: str) -> None:
    """A small catalog (2,000 models) is enough: the answers' size is what matters, and a
    20-hit page of it is the same shape as one of the 100,000-model benchmark."""
    url = await stack.recreate_database(database_url(), url.rsplit("/", 1)[1])
    for schema in ("catalog", "gateway"):
        await upgrade(schema, url)
    await seed.seed(
        stack.plain_dsn(url), models=2_000, downloads=20_000, ratings=20_000, seed_value=9
    )
    from modelbay_catalog.main import build_service as build_catalog
    from modelbay_catalog.settings import CatalogSettings

    catalog = build_catalog(CatalogSettings())
    internal = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=catalog.app),
        base_url="http://catalog",
        auth=InternalAuth(secret),
        headers=caller_headers(Caller(user=READER)),
    )
    first = (await internal.get("/internal/models", params={"limit": 1})).json()["items"][0]
    model = f"{first['owner']}/{first['name']}"
    search = await internal.get("/internal/models", params=SEARCH)
    page = await internal.get(f"/internal/models/{model}")
    search.raise_for_status()
    page.raise_for_status()
    ANSWERS.parent.mkdir(parents=True, exist_ok=True)
    ANSWERS.write_text(
        json.dumps(
            {"model": model, "search": search.content.decode(), "page": page.content.decode()}
        )
    )
    await internal.aclose()
    print(f"recorded {len(search.content):,} B of search and {len(page.content):,} B of page")


def asgi_get(app: Any, path: str, query: str, token: str) -> AsgiCall:
    """One GET straight into the ASGI app; returns the status (the body is dropped)."""
    headers = [
        (b"host", b"gateway"),
        (b"accept", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
    ]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call() -> int:
        status = 0

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("gateway", 80),
            "state": {},
        }
        await app(scope, receive, send)
        return status

    return call


async def cpu_ms(call: AsgiCall, count: int) -> float:
    for _ in range(30):
        status = await call()
        if status != 200:
            raise SystemExit(f"the gateway answered {status}")
    before = time.process_time()
    for _ in range(count):
        await call()
    return (time.process_time() - before) * 1000 / count


async def profiled(label: str, call: AsgiCall, count: int, top: int) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(count):
        await call()
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    print(f"\n===== {label} (profiled) =====\n{out.getvalue()}")


async def reader_token(app: Any) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as public:
        answer = await public.post(
            "/v1/users",
            json={"username": f"{READER}-{secrets.token_hex(3)}"},
            headers={"Authorization": f"Bearer {stack.ADMIN_TOKEN}"},
        )
        answer.raise_for_status()
        return str(answer.json()["token"]["token"])


class _RecordedCatalog(asyncio.Protocol):
    """The catalog's recorded answers over keep-alive HTTP/1.1 (`--serve-recorded`)."""

    answers: ClassVar[dict[bytes, bytes]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport, self.pending = transport, b""

    def data_received(self, data: bytes) -> None:
        self.pending += data
        while b"\r\n\r\n" in self.pending:  # GETs only: a request ends with its head
            head, self.pending = self.pending.split(b"\r\n\r\n", 1)
            path = head.split(b" ", 2)[1].split(b"?", 1)[0]
            body = self.answers[path]
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )


async def serve_recorded(port: int, bodies: dict[str, bytes]) -> None:
    _RecordedCatalog.answers = {quote(path).encode(): body for path, body in bodies.items()}
    server = await asyncio.get_running_loop().create_server(_RecordedCatalog, "127.0.0.1", port)
    await server.serve_forever()


async def main() -> None:
    options = arguments()
    url = stack.with_database(database_url(), options.database)
    secret = secrets.token_hex(32)
    environment(url, secret)
    if options.setup:
        await set_up(url, secret)
    recorded = json.loads(ANSWERS.read_text())
    model = str(recorded["model"])
    bodies = {
        "/internal/models": recorded["search"].encode(),
        f"/internal/models/{model}": recorded["page"].encode(),
    }

    def recorded_catalog(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=bodies[request.url.path], headers={"content-type": "application/json"}
        )

    if options.serve_recorded:
        await serve_recorded(options.serve_recorded, bodies)
        return
    if options.served:
        served(url, model, options)
        return
    replay: asyncio.subprocess.Process | None = None
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "catalog": httpx.MockTransport(recorded_catalog)
    }
    overrides: dict[str, Any] = {}
    if options.replay_over_http:
        port = stack.free_port()
        replay = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "catalogbench.gateway_cpu", "--serve-recorded", str(port)
        )
        await asyncio.sleep(2)  # its start-up (imports); the warm-up calls would fail otherwise
        transports, overrides["catalog_url"] = {}, f"http://127.0.0.1:{port}"
    # Imported after the environment is set: the settings classes read it.
    from modelbay_common.serving import ServiceHost
    from modelbay_gateway.main import build_service
    from modelbay_gateway.settings import GatewaySettings
    from modelbay_gateway.startup import bootstrap_admin

    if options.auth_cache_seconds is not None:  # absent from older gateways' settings
        overrides["auth_cache_seconds"] = options.auth_cache_seconds
    settings = GatewaySettings(**overrides)
    host: ServiceHost = build_service(settings, transports=transports)
    await bootstrap_admin(host.clients.sessions, settings)
    token = await reader_token(host.app)
    routes = {
        "search": asgi_get(host.app, "/v1/models", "q=forecast", token),
        "model page": asgi_get(host.app, f"/v1/models/{model}", "", token),
    }
    for _ in range(options.rounds):
        figures = {name: await cpu_ms(call, options.requests) for name, call in routes.items()}
        when = datetime.now(UTC).strftime("%H:%M:%S")
        print(
            f"{when} UTC load {os.getloadavg()[0]:.1f} {options.label}: "
            + ", ".join(f"{name} {ms:.2f}" for name, ms in figures.items())
            + " CPU ms/request (gateway)",
            flush=True,
        )
    if options.profile:
        for name, call in routes.items():
            await profiled(name, call, options.requests, options.top)
    await host.clients.engine.dispose()
    if replay is not None:
        replay.kill()
        await replay.wait()


def served(url: str, model: str, options: argparse.Namespace) -> None:
    """wrk against the real processes; one line per cell."""
    work_dir = ROOT / "bench" / "catalog" / "work" / "gateway_cpu"
    with stack.running_services(url, work_dir) as services:
        gateway = services["gateway"].url
        token = served_reader_token(gateway)

        processes = {name: service.process.pid for name, service in services.items()}
        cpu_seconds = load.cpu_reader(processes, options.database)
        routes = {"search": ["/v1/models?q=forecast"], "model page": [f"/v1/models/{model}"]}
        for _ in range(options.rounds):
            for connections in (1, 8):
                for name, paths in routes.items():
                    cell = load.run_cell(
                        name,
                        gateway,
                        paths,
                        token,
                        connections=connections,
                        seconds=options.seconds,
                        warmup=2.0,
                        cpu_seconds=cpu_seconds,
                    )
                    cpu = cell.cpu_ms_per_request or {}
                    when = datetime.now(UTC).strftime("%H:%M:%S")
                    print(
                        f"{when} UTC load {os.getloadavg()[0]:.1f} {options.label} served "
                        f"c={connections} {name}: {cell.per_second:.0f} req/s, "
                        f"p50 {cell.p50_ms:.1f} ms, p95 {cell.p95_ms:.1f} ms, "
                        f"p99 {cell.p99_ms:.1f} ms, max {cell.max_ms:.1f} ms; CPU ms/req gateway "
                        f"{cpu.get('gateway', 0):.2f}, catalog {cpu.get('catalog', 0):.2f}, "
                        f"postgres {cpu.get('postgres', 0):.2f}; errors "
                        f"{cell.status_errors + cell.socket_errors}",
                        flush=True,
                    )


def served_reader_token(gateway_url: str) -> str:
    request = urllib.request.Request(
        gateway_url + "/v1/users",
        data=json.dumps({"username": f"{READER}-{secrets.token_hex(3)}"}).encode(),
        headers={
            "Authorization": f"Bearer {stack.ADMIN_TOKEN}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(json.loads(answer.read())["token"]["token"])


if __name__ == "__main__":
    asyncio.run(main())
