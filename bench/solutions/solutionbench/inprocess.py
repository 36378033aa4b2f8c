"""The orchestrator's own work per hop, without sockets: the ASGI app called directly, nodes
answered instantly by an in-memory httpx transport. CPU time per request (`time.process_time`)
moves far less with other processes' load than wall-clock latency over loopback does, which on
a busy 2-core machine is mostly waiting to be scheduled."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from modelbay_runtime.orchestrator import create_orchestrator

SIGNAL_1_5 = bytes.fromhex("09000000000000f83f")  # Signal(x=1.5) on the wire
REQUESTS = 3000


async def _call(app: Any, body: bytes, path: str) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-type", b"application/json")],
    }
    await app(scope, receive, send)
    return status


async def _measure(solutions: list[str]) -> dict[str, float]:
    instant = httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=SIGNAL_1_5, headers={"content-type": "application/x-protobuf"}
        )
    )
    app = create_orchestrator(solutions, environ={}, transport=instant)
    await app.startup()
    results = {}
    for solution in solutions:
        name = Path(solution).name
        path = f"/solutions/{name}/model/methods/predict"
        for _ in range(300):
            assert await _call(app, b'{"x": 1.5}', path) == 200
        started = time.process_time()
        for _ in range(REQUESTS):
            await _call(app, b'{"x": 1.5}', path)
        results[name] = round(1000 * (time.process_time() - started) / REQUESTS, 3)
    await app.shutdown()
    return results


def measure(solutions: list[str]) -> dict[str, float]:
    """CPU ms per request through each solution (by its directory name)."""
    return asyncio.run(_measure(solutions))
