"""Where one search and one model page spend their CPU, per process (issue 9, "Speed").

`PYTHONPATH=bench/catalog .tools/bin/uv run --frozen python -m catalogbench.profile_requests`
after `make bench-catalog` has seeded its database (it is left in place). The catalog and the
gateway are built in this process by their own composition roots (`build_service`) and called
through `httpx.ASGITransport`, so the HTTP server (uvicorn) is not in the profile; each is
profiled on its own with cProfile:

- the catalog: signed internal requests as a reader who owns nothing, against the seeded database;
- the gateway: the same public requests with the catalog replaced by its recorded answers
  (`httpx.MockTransport`), so the gateway's own cost is all that is measured.

`--lean-reads off` builds the catalog with its lean path off (every request through FastAPI:
`MODELBAY_CATALOG_LEAN_READS=false`), for an A/B of `fast_reads.py` in the same minutes.

It prints the CPU milliseconds per request of each (of this whole process, one request at a
time, without and with the profiler) and the functions with the most cumulative and own time;
nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from modelbay_common.access import Caller, caller_headers
from modelbay_common.internal_auth import InternalAuth
from modelbay_common.migrations import upgrade

from catalogbench import stack
from catalogbench.__main__ import ROOT, database_url

READER = "bench-profile-reader"
REQUESTS = 200
WHERE_THE_WORK_IS = (
    r"modelbay_|pydantic|sqlalchemy|asyncpg|json|encoders|serializ|starlette/responses"
)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="catalogbench.profile_requests", description=__doc__)
    parser.add_argument("--database", default="bench_catalog")
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile")
    parser.add_argument("--q", default="forecast", help="the search's words")
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="only the CPU ms per request (for interleaved A/B rounds: no profiler run)",
    )
    parser.add_argument(
        "--lean-reads",
        choices=("on", "off"),
        default="on",
        help="the catalog's lean path for search and model page (fast_reads.py), or FastAPI",
    )
    parser.add_argument(
        "--only",
        choices=("catalog", "gateway"),
        help="profile one process only (default: both)",
    )
    return parser.parse_args()


def environment(url: str, secret: str) -> None:
    for key in [key for key in os.environ if key.startswith("MODELBAY_")]:
        del os.environ[key]
    os.environ.update(
        {
            "MODELBAY_DATABASE_URL": url,
            "MODELBAY_BUS_URL": "memory://",
            "MODELBAY_BLOB_URL": (ROOT / "bench" / "catalog" / "work" / "blobs").as_uri(),
            "MODELBAY_LOG_LEVEL": "WARNING",
            "MODELBAY_INTERNAL_SECRET": secret,
            "MODELBAY_GATEWAY_ADMIN_USERNAME": stack.ADMIN,
            "MODELBAY_GATEWAY_ADMIN_TOKEN": stack.ADMIN_TOKEN,
        }
    )


async def profiled(
    label: str,
    call: Callable[[], Awaitable[httpx.Response]],
    count: int,
    top: int,
    *,
    bare_only: bool = False,
) -> None:
    """Warm up, then profile `count` calls; prints CPU ms per call and the top functions."""
    for _ in range(20):
        (await call()).raise_for_status()
    # First without the profiler (its overhead about doubles the CPU time), one call at a time.
    cpu_before = time.process_time()
    for _ in range(count):
        await call()
    bare = (time.process_time() - cpu_before) * 1000 / count
    if bare_only:
        print(f"===== {label}: {bare:.2f} CPU ms/request =====")
        return
    # Timed by this process's CPU clock, not the wall clock: on a shared machine a request is
    # often descheduled inside a socket call, and wall time would charge that wait to it.
    profile = cProfile.Profile(time.process_time)
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    profile.enable()
    for _ in range(count):
        await call()
    profile.disable()
    cpu = (time.process_time() - cpu_before) * 1000 / count
    wall = (time.perf_counter() - wall_before) * 1000 / count
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    # Our code and the libraries a request's work is in, by cumulative time (the event loop's
    # and the middleware stack's frames would otherwise fill the list), then by own time.
    stats.sort_stats("cumulative").print_stats(WHERE_THE_WORK_IS, top)
    stats.sort_stats("tottime").print_stats(top)
    print(
        f"\n===== {label}: {bare:.2f} CPU ms/request; profiled: {cpu:.2f} CPU ms, "
        f"{wall:.2f} ms wall ====="
    )
    print(out.getvalue())


async def main() -> None:
    options = arguments()
    url = stack.with_database(database_url(), options.database)
    secret = secrets.token_hex(32)
    environment(url, secret)
    for schema in ("catalog", "gateway"):  # the seeded database may predate a revision
        await upgrade(schema, url)
    # Imported after the environment is set: the settings classes read it.
    from modelbay_catalog.main import build_service as build_catalog
    from modelbay_catalog.settings import CatalogSettings

    catalog = build_catalog(CatalogSettings(lean_reads=options.lean_reads == "on"))
    reader = Caller(user=READER)
    internal = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=catalog.app),
        base_url="http://catalog",
        auth=InternalAuth(secret),
        headers=caller_headers(reader),
    )
    search = {"q": options.q}
    model_path = await first_public_model(internal)
    if options.only != "gateway":
        await profiled(
            f"catalog: search q={options.q}",
            lambda: internal.get("/internal/models", params=search),
            options.requests,
            options.top,
            bare_only=options.no_profile,
        )
        await profiled(
            f"catalog: model page {model_path}",
            lambda: internal.get(f"/internal/models/{model_path}"),
            options.requests,
            options.top,
            bare_only=options.no_profile,
        )
    if options.only != "catalog":
        await profile_gateway(internal, search, model_path, options)
    await internal.aclose()


async def profile_gateway(
    internal: httpx.AsyncClient,
    search: dict[str, str],
    model_path: str,
    options: argparse.Namespace,
) -> None:
    """The gateway alone: the catalog replaced by the answers it just gave."""
    from modelbay_gateway.main import build_service as build_gateway
    from modelbay_gateway.settings import GatewaySettings

    recorded = {
        "/internal/models": (await internal.get("/internal/models", params=search)).content,
        f"/internal/models/{model_path}": (
            await internal.get(f"/internal/models/{model_path}")
        ).content,
    }

    def recorded_catalog(request: httpx.Request) -> httpx.Response:
        body = recorded[request.url.path]
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    gateway = build_gateway(
        GatewaySettings(), transports={"catalog": httpx.MockTransport(recorded_catalog)}
    )
    public = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway.app), base_url="http://gateway"
    )
    token = await reader_token(public)
    public.headers["Authorization"] = f"Bearer {token}"
    await profiled(
        f"gateway: search q={search['q']} (catalog answers recorded)",
        lambda: public.get("/v1/models", params=search),
        options.requests,
        options.top,
        bare_only=options.no_profile,
    )
    await profiled(
        f"gateway: model page {model_path} (catalog answers recorded)",
        lambda: public.get(f"/v1/models/{model_path}"),
        options.requests,
        options.top,
        bare_only=options.no_profile,
    )
    await public.aclose()


async def first_public_model(internal: httpx.AsyncClient) -> str:
    page: dict[str, Any] = (await internal.get("/internal/models", params={"limit": 1})).json()
    hit = page["items"][0]
    return f"{hit['owner']}/{hit['name']}"


async def reader_token(public: httpx.AsyncClient) -> str:
    """A fresh token of a user who owns nothing (created by the bench's administrator)."""
    username = f"{READER}-{secrets.token_hex(3)}"
    answer = await public.post(
        "/v1/users",
        json={"username": username},
        headers={"Authorization": f"Bearer {stack.ADMIN_TOKEN}"},
    )
    answer.raise_for_status()
    return str(answer.json()["token"]["token"])


if __name__ == "__main__":
    asyncio.run(main())
