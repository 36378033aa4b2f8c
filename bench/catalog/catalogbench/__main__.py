"""`python -m catalogbench` (bench/catalog/run.sh, `make bench-catalog`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from modelbay_common.access import Caller
from modelbay_common.migrations import upgrade

from catalogbench import load, plans, report, scenarios, seed, stack

ROOT = Path(__file__).resolve().parents[3]
READER = "bench-reader"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="catalogbench", description=__doc__)
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--downloads", type=int, default=1_000_000)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--database", default="bench_catalog", help="created and dropped here")
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write the section of docs/benchmarks.md and results/latest.json (else "
        "results/preview.md and preview.json, which git ignores)",
    )
    return parser.parse_args()


def database_url() -> str:
    if "MODELBAY_DATABASE_URL" in os.environ:
        return os.environ["MODELBAY_DATABASE_URL"]
    for line in (ROOT / "var" / "services.env").read_text().splitlines():
        if line.startswith("MODELBAY_DATABASE_URL="):
            return line.split("=", 1)[1].strip()
    raise SystemExit("no MODELBAY_DATABASE_URL and no var/services.env: run `make services-up`")


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def new_user_token(gateway_url: str) -> str:
    request = urllib.request.Request(
        gateway_url + "/v1/users",
        data=json.dumps({"username": READER}).encode(),
        headers={
            "Authorization": f"Bearer {stack.ADMIN_TOKEN}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(json.loads(answer.read())["token"]["token"])


async def page_models(url: str, count: int, seed_value: int) -> list[tuple[str, str]]:
    connection = await asyncpg.connect(stack.plain_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT owner, name FROM catalog.models WHERE visibility = 'public' ORDER BY id"
        )
    finally:
        await connection.close()
    picked = random.Random(seed_value + 20).sample(list(rows), k=min(count, len(rows)))
    return [(str(row["owner"]), str(row["name"])) for row in picked]


async def sessions_opened(url: str) -> int:
    """How many sessions the database has had since statistics were reset (PostgreSQL 14+): a
    pool that closes and reopens connections shows here. This probe's own session is counted
    by the next reading."""
    connection = await asyncpg.connect(stack.plain_dsn(url))
    try:
        found = await connection.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await connection.close()
    return int(found or 0)


async def postgres_version(url: str) -> str:
    connection = await asyncpg.connect(stack.plain_dsn(url))
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


async def main() -> None:
    options = arguments()
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    load_before = load_average()
    url = await stack.recreate_database(database_url(), options.database)
    for schema in ("catalog", "gateway"):
        await upgrade(schema, url)
    print(f"seeding {options.models:,} models into {options.database} ...", flush=True)
    seeded = await seed.seed(
        stack.plain_dsn(url),
        models=options.models,
        downloads=options.downloads,
        ratings=options.ratings,
        seed_value=options.seed,
    )
    print(f"seeded in {seeded.total_seconds:.1f} s: {seeded.seconds}", flush=True)
    pages = await page_models(url, scenarios.REQUESTS_PER_SCENARIO, options.seed)
    cells: list[tuple[str, load.CellResult]] = []
    work_dir = ROOT / "bench" / "catalog" / "work"
    with stack.running_services(url, work_dir) as services:
        gateway = services["gateway"].url
        token = new_user_token(gateway)

        processes = {name: service.process.pid for name, service in services.items()}
        cpu_seconds = load.cpu_reader(processes, options.database)

        def sessions_now() -> int:
            # run_cell blocks this loop while wrk runs; the reading gets a loop of its own.
            with ThreadPoolExecutor(max_workers=1) as thread:
                return thread.submit(asyncio.run, sessions_opened(url)).result()

        for scenario in scenarios.scenarios(options.seed, pages):
            cell = load.run_cell(
                scenario.name,
                gateway,
                scenario.paths,
                token,
                connections=options.connections,
                seconds=options.seconds,
                warmup=options.warmup,
                cpu_seconds=cpu_seconds,
                sessions_opened=sessions_now,
            )
            print(
                f"{cell.scenario}: {cell.per_second:.0f} req/s, p50 {cell.p50_ms:.1f} ms, "
                f"p95 {cell.p95_ms:.1f} ms, CPU {cell.cpu_total_ms:.1f} ms/req "
                f"({report.cpu_parts(cell)}), "
                f"errors {cell.status_errors + cell.socket_errors}, "
                f"Postgres sessions opened {cell.backends_started}",
                flush=True,
            )
            cells.append((scenario.what, cell))
            await asyncio.sleep(1)  # let the last requests' work settle
    reader = Caller(user=READER)
    explained: dict[str, list[plans.Plan]] = {}
    for scenario in scenarios.scenarios(options.seed, pages):
        if scenario.name == "model page":
            owner, name = pages[0]
            explained[scenario.name] = await plans.explain_model_page(url, reader, owner, name)
        else:
            explained[scenario.name] = await plans.explain_search(url, reader, scenario.sample)
    finished = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    versions = f"PostgreSQL {await postgres_version(url)}, {load.wrk_version()}"
    results = ROOT / "bench" / "catalog" / "results"
    results.mkdir(parents=True, exist_ok=True)
    # `--no-docs` (a trial run) leaves the committed `latest.json` alone: its numbers go to
    # `preview.json` beside `preview.md`, both ignored by git.
    raw = results / ("latest.json" if options.docs else "preview.json")
    raw.write_text(
        json.dumps(
            {
                "started": started,
                "finished": finished,
                "options": vars(options),
                "seed": asdict(seeded),
                "cells": [asdict(cell) | {"what": what} for what, cell in cells],
                "plans": {k: [asdict(p) for p in v] for k, v in explained.items()},
            },
            indent=2,
        )
    )
    text = report.section(
        started=started,
        finished=finished,
        load_before=load_before,
        load_after=load_average(),
        versions=versions,
        seeded=seeded,
        cells=cells,
        connections=options.connections,
        seconds=options.seconds,
        plans=explained,
    )
    if options.docs:
        report.write_section(ROOT / "docs" / "benchmarks.md", text)
        print("wrote the Catalog search section of docs/benchmarks.md")
    else:
        (results / "preview.md").write_text(text)
        print(f"wrote {results / 'preview.md'} and {raw}")


if __name__ == "__main__":
    asyncio.run(main())
