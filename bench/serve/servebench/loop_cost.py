"""CPU the runtime's own request path costs on the event loop, without sockets (issue 14).

A side script, not a cell: `concurrency` requests at a time go straight into the runtime's ASGI
app (no uvicorn, no wrk), for a few 2-second rounds, and the main thread's CPU time per request
is printed. With `--model-process on` (the default here) the model runs in its own process, so
the figure is the loop's work alone: routing, headers, JSON, the batch checks, merge and split,
the hand-off, metrics. It moves much less with the machine's load than req/s does; compare two
versions by running them back to back (PYTHONPATH pointing at each checkout's runtime):

    cd bench/serve && PYTHONPATH=../../libs/runtime/src .venvs/modelbay/bin/python \\
        -m servebench.loop_cost work/modelbay/rf 64 3 [on|off]
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

BODY = json.dumps(
    {"sepal_length": [6.1], "sepal_width": [2.8], "petal_length": [4.0], "petal_width": [1.3]}
).encode()
SCOPE = {
    "type": "http",
    "method": "POST",
    "path": "/model/methods/classify",
    "headers": [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ],
}


async def _one(app: Any) -> None:
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:  # the response is sent before the app would ask again
            await asyncio.sleep(3600)
        delivered = True
        return {"type": "http.request", "body": BODY, "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(dict(SCOPE), receive, send)
    if sent[0]["status"] != 200:
        raise RuntimeError(f"the server answered {sent}")


async def measure(bundle: str, concurrency: int, rounds: int, model_process: str) -> list[float]:
    from modelbay_runtime.server.app import create_app
    from modelbay_runtime.server.settings import RuntimeSettings

    app = create_app(RuntimeSettings(bundle_dir=bundle, model_process=model_process))
    await app.startup()
    await app.wait_loaded()
    for _ in range(3):  # warm-up
        await asyncio.gather(*(_one(app) for _ in range(concurrency)))
    per_request_us = []
    for _ in range(rounds):
        cpu, wall, served = time.thread_time(), time.perf_counter(), 0
        while time.perf_counter() - wall < 2.0:
            await asyncio.gather(*(_one(app) for _ in range(concurrency)))
            served += concurrency
        per_request_us.append((time.thread_time() - cpu) / served * 1e6)
    await app.shutdown()
    return sorted(per_request_us)


def main(argv: list[str]) -> None:
    bundle, concurrency, rounds = argv[0], int(argv[1]), int(argv[2])
    model_process = argv[3] if len(argv) > 3 else "on"
    rounds_us = asyncio.run(measure(bundle, concurrency, rounds, model_process))
    shown = ", ".join(f"{value:.1f}" for value in rounds_us)
    print(
        f"model process {model_process}, c={concurrency}: loop CPU per request {shown} µs "
        f"(rounds, sorted); 1-minute load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
