"""`python -m pipelinebench`: push → ready of the Fig. 2 iris model, cold and warm, embedded and
stack mode; image size; the table in docs/benchmarks.md (`## Pipeline`). See bench/README.md.

    bash bench/pipeline/run.sh                  # what you normally run
    python -m pipelinebench --modes embedded --cold-runs 1 --warm-runs 2 --no-docs   # a try
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
from e2e_stack import Backends

from pipelinebench.measure import ROOT, RunResult, bundle_variant, fig2_bundle, new_user, push_once
from pipelinebench.platforms import (
    Platform,
    cold_environment,
    embedded_platform,
    stack_platform,
)
from pipelinebench.report import section, write_section
from pipelinebench.sizes import ImageSizes, measure_image

SERVICES_ENV = ROOT / "var" / "services.env"
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "bench" / "pipeline" / "results" / "latest.json"
# A try (--no-docs) must not replace the numbers the docs were written from.
PREVIEW = ROOT / "bench" / "pipeline" / "results" / "preview.json"


def read_backends() -> Backends:
    if not SERVICES_ENV.exists():
        raise SystemExit(f"{SERVICES_ENV} is missing: start the services with `make services-up`")
    env: dict[str, str] = {}
    for line in SERVICES_ENV.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            env[key.strip()] = value.strip()
    env.update({k: v for k, v in os.environ.items() if k in env})
    return Backends(
        database_url=env["MODELBAY_DATABASE_URL"],
        amqp_url=env["MODELBAY_AMQP_URL"],
        blob_url=env["MODELBAY_BLOB_URL"],
        registry=env["MODELBAY_REGISTRY"],
        base_image=env["MODELBAY_BASE_IMAGE"],
        docker_host=env.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
        # The shared registry is behind token auth (docs/trust.md): without the key the stack's
        # builder cannot push (HTTP 401).
        registry_token_key_file=env.get("MODELBAY_REGISTRY_TOKEN_KEY_FILE"),
    )


class Bench:
    def __init__(self, args: argparse.Namespace, backends: Backends, work: Path) -> None:
        self.args = args
        self.backends = backends
        self.work = work
        self.docker = docker.DockerClient(base_url=backends.docker_host, timeout=600)
        self.bundle = fig2_bundle(work)
        self.archives = 0
        self.runs: list[RunResult] = []
        self.sizes: list[ImageSizes] = []
        self.images: list[str] = []

    def remove_local_images(self) -> None:
        """The run's images stay in the registry; the local tags go, so each cold run's own
        dependency layer (~300 MB) does not pile up in the engine."""
        for ref in self.images:
            with contextlib.suppress(docker.errors.APIError):
                self.docker.images.remove(ref)

    def next_archive(self, label: str) -> Path:
        self.archives += 1
        return bundle_variant(self.bundle, label, self.work / f"push-{self.archives}.tar.gz")

    async def measure_mode(self, mode: str) -> None:
        for cold_index in range(self.args.cold_runs):
            last = cold_index == self.args.cold_runs - 1
            async with cold_environment(self.docker, self.backends.base_image) as (base, cache):
                opened: contextlib.AbstractAsyncContextManager[Platform]
                if mode == "embedded":
                    opened = embedded_platform(self.backends, base, cache)
                else:
                    opened = stack_platform(self.backends, base, cache, self.work / f"stack-{mode}")
                async with opened as running:
                    await self.measure_platform(mode, running, warm_runs=last)

    async def measure_platform(self, mode: str, running: Platform, *, warm_runs: bool) -> None:
        user = await new_user(running)
        self.record(await push_once(running, mode, "cold", user, self.next_archive("cold")))
        if not warm_runs:
            return
        for _ in range(self.args.warm_runs):
            self.record(await push_once(running, mode, "warm", user, self.next_archive("warm")))
        last = self.runs[-1]
        if last.status == "ready" and last.image_ref and last.wheelhouse_bytes:
            self.sizes.append(
                await asyncio.to_thread(
                    measure_image,
                    self.docker,
                    mode,
                    last.image_ref,
                    self.backends.base_image,
                    last.wheelhouse_bytes,
                    last.archive_bytes,
                )
            )

    def record(self, run: RunResult) -> None:
        self.runs.append(run)
        if run.image_ref:
            self.images.append(run.image_ref)
        extra = f" ({run.reason})" if run.status != "ready" else ""
        print(
            f"{run.mode:8} {run.kind:4} {run.status:6} push→ready {run.push_to_ready_s:6.1f} s  "
            f"build {run.build_s or 0:5.1f} s  layer cached {run.dependency_layer_cached}{extra}",
            flush=True,
        )


def machine() -> str:
    cpus = len(os.sched_getaffinity(0))
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{platform.node()} ({cpus} cores, {memory:.0f} GiB, Linux {platform.release()})"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def main(args: argparse.Namespace) -> None:
    backends = read_backends()
    load_start = load()
    work = Path(tempfile.mkdtemp(prefix="modelbay-bench-pipeline-"))
    try:
        bench = Bench(args, backends, work)
        try:
            for mode in args.modes.split(","):
                await bench.measure_mode(mode)
        finally:
            await asyncio.to_thread(bench.remove_local_images)
        version = bench.docker.version().get("Version", "?")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    facts: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "cold_runs": args.cold_runs,
        "warm_runs": args.warm_runs,
        "load_start": load_start,
        "load_end": load(),
        "docker": version,
        "base_image": backends.base_image,
    }
    text = section(bench.runs, bench.sizes, facts)
    print(text)
    results_path = RESULTS if args.docs else PREVIEW
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results = {
        "facts": facts,
        "runs": [dataclasses.asdict(run) for run in bench.runs],
        "sizes": [dataclasses.asdict(size) for size in bench.sizes],
    }
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    if args.docs:
        write_section(DOC, text)
        print(f"wrote the Pipeline section of {DOC}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pipelinebench", description=__doc__)
    parser.add_argument("--modes", default="embedded,stack", help="embedded,stack (both)")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold pushes per mode (3)")
    parser.add_argument("--warm-runs", type=int, default=5, help="warm pushes per mode (5)")
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write the table into docs/benchmarks.md (default: yes)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
