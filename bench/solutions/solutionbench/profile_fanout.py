"""Where the fan-out's time goes (issue 10, "Bench"): a side script, not part of run.sh.

    PYTHONPATH=bench/solutions .tools/bin/uv run --frozen python -m solutionbench.profile_fanout

Starts the two 5 ms models and the merge as real model servers (processes on loopback, as the
benchmark does), then drives the orchestrator's ASGI app in this process (no HTTP front, so only
its own work and its node calls are measured):

1. each node alone through the orchestrator's transport (the floor of each branch);
2. the fan-out with a timeline per request: when each node call starts and ends, relative to
   the request's arrival (medians over the requests);
3. cProfile over the same requests: the functions the orchestrator's CPU goes to.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from modelbay import dump
from modelbay_runtime.orchestrator import calls as calls_module
from modelbay_runtime.orchestrator import create_orchestrator

from solutionbench.inprocess import _call
from solutionbench.models import models
from solutionbench.runner import NODES, _documents, _free_port, _serve, _wait_ready

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "support"))
from solution_fixtures import write_solution

REQUESTS = int(os.environ.get("PROFILE_REQUESTS", "400"))
SIGNAL = bytes.fromhex("09000000000000f83f")


async def _direct(transport: httpx.AsyncBaseTransport, url: str) -> float:
    headers = {"content-type": "application/x-protobuf", "accept": "application/x-protobuf"}
    samples = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = await transport.handle_async_request(
            httpx.Request("POST", url, headers=headers, content=SIGNAL)
        )
        await response.aread()
        await response.aclose()
        samples.append(time.perf_counter() - started)
    return 1000 * statistics.median(samples)


async def _profile(solution_dir: str, urls: dict[str, str]) -> dict[str, Any]:
    timeline: list[tuple[str, float, float]] = []
    original = calls_module.NodeCaller.call

    async def timed(self: Any, node: Any, url: str, body: bytes, trace: Any) -> bytes:
        started = time.perf_counter()
        try:
            return await original(self, node, url, body, trace)
        finally:
            timeline.append((node.id, started, time.perf_counter()))

    calls_module.NodeCaller.call = timed  # type: ignore[method-assign]
    environ = {"MODELBAY_SOLUTION_NODES": json.dumps(urls)}
    app = create_orchestrator([solution_dir], environ=environ)
    await app.startup()
    path = "/model/methods/predict"
    for _ in range(50):
        await _call(app, b'{"x": 1.5}', path)
    transport = httpx.AsyncHTTPTransport()
    alone = {
        node: await _direct(transport, f"{urls[node]}/model/methods/{method}")
        for node, method in (("s1", "step"), ("s2", "step"), ("m", "merge"))
    }
    phases: dict[str, list[float]] = {}
    for _ in range(REQUESTS):
        timeline.clear()
        started = time.perf_counter()
        await _call(app, b'{"x": 1.5}', path)
        total = time.perf_counter() - started
        for node, start, end in timeline:
            phases.setdefault(f"{node} sent", []).append(start - started)
            phases.setdefault(f"{node} answered", []).append(end - started)
        phases.setdefault("total", []).append(total)
    profiler = cProfile.Profile()
    cpu = time.process_time()
    profiler.enable()
    for _ in range(REQUESTS):
        await _call(app, b'{"x": 1.5}', path)
    profiler.disable()
    cpu_ms = 1000 * (time.process_time() - cpu) / REQUESTS
    await app.shutdown()
    await transport.aclose()
    calls_module.NodeCaller.call = original  # type: ignore[method-assign]
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
    return {
        "alone_p50_ms": {k: round(v, 3) for k, v in alone.items()},
        "fanout_timeline_p50_ms": {
            k: round(1000 * statistics.median(v), 3) for k, v in sorted(phases.items())
        },
        "orchestrator_cpu_ms_per_request_profiled": round(cpu_ms, 3),
        "load": os.getloadavg()[0],
        "profile": text.getvalue(),
    }


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fanoutprofile-") as name, ExitStack() as stack:
        work = Path(name)
        bundles = {n: dump(m, n, work / "models" / n) for n, m in models().items()}
        wanted = {"s1", "s2", "m"}
        ports = {node: _free_port() for node in wanted}
        for node in wanted:
            command = [sys.executable, "-m", "modelbay_runtime", "serve", str(bundles[NODES[node]])]
            command += ["--host", "127.0.0.1", "--port", str(ports[node]), "--no-batching"]
            _serve(command, {**os.environ}, work / f"{node}.log", stack)
        urls = {node: f"http://127.0.0.1:{port}" for node, port in ports.items()}
        for url in urls.values():
            _wait_ready(url)
        document = _documents()["fanout"]
        nodes = {node: bundles[NODES[node]] for node in document["nodes"]}
        solution = str(write_solution(work / "solutions", "fanout", document, nodes))
        result = asyncio.run(_profile(solution, urls))
    print(result.pop("profile"))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
