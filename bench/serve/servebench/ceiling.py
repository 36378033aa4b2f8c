"""Issue 14's ceiling on this machine: how many 1-row requests/s at c=64 *any* Python server
reaches here, next to the runtime with a free model and with the iris RF.

Four servers, started once and measured in interleaved rounds (same wrk settings, one wrk
thread, c=64, the same 1-row JSON body):

- `raw`: asyncio.Protocol + httptools, fixed answer (`floor_servers.py`), no ASGI;
- `asgi`: uvicorn (httptools, uvloop) + a bare ASGI app, same answer;
- `trivial`: the runtime serving a bundle whose predict returns class 1 per row
  (`peers/export_trivial.py`), so the model call costs ~nothing;
- `rf`: the runtime serving the bench's iris RandomForest bundle;
- `trivial-asgi`, `rf-asgi`: the same two with the hot path off (`MODELBAY_RUNTIME_HOT_PATH=off`,
  every request through uvicorn's ASGI cycle as before issue 14's session 5).

For each cell: req/s, p50/p99, CPU per request of each server process (serving process, model
process) and of wrk itself, the UTC time and the 1-minute load. The runtime runs from the
workspace source (PYTHONPATH), so the figures are of the code in this checkout.

    cd bench/serve && .venvs/modelbay/bin/python -m servebench.ceiling \\
        [--rounds 3] [--seconds 8] [--servers raw,asgi,trivial,rf] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from servebench.loadgen import run_wrk, write_script
from servebench.procs import Launch, PidRegistry, _cpu_seconds, process_tree, start, stop

HERE = Path(__file__).resolve().parent.parent
ROOT = HERE.parent.parent
BODY = b'{"sepal_length": [6.1], "sepal_width": [2.8], "petal_length": [4.0], "petal_width": [1.3]}'
PATH = "/model/methods/classify"


def _body(rows: int) -> bytes:
    """`rows` copies of BODY's row, as one request (the floors answer any body the same)."""
    row = json.loads(BODY)
    return json.dumps({name: values * rows for name, values in row.items()}).encode()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(kind: str, python: str, extra: list[str], runtime_src: Path) -> Launch:
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    env["PYTHONPATH"] = f"{runtime_src}{os.pathsep}{HERE}"
    if kind in ("raw", "asgi"):
        argv = [python, "-m", "servebench.floor_servers", kind, str(port)]
    else:
        # `rf-asgi` / `trivial-asgi`: the same runtime with the hot path off (A/B in one run).
        bundle = HERE / "work" / "modelbay" / kind.removesuffix("-asgi")
        if kind.endswith("-asgi"):
            env["MODELBAY_RUNTIME_HOT_PATH"] = "off"
        argv = [python, "-m", "modelbay_runtime", "serve", str(bundle), "--host", "127.0.0.1"]
        argv += ["--port", str(port), *extra]
    return Launch(argv, env, HERE / "work", port)


def _ensure_trivial_bundle() -> None:
    """The free-model bundle, made once with the SDK's venv (run.sh builds the venvs)."""
    if (HERE / "work" / "modelbay" / "trivial" / "manifest.json").exists():
        return
    sdk_python = HERE / ".venvs" / "modelbay-sdk" / "bin" / "python"
    export = HERE / "peers" / "export_trivial.py"
    subprocess.run([str(sdk_python), str(export), str(HERE / "work")], check=True)


def _wait_ready(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{PATH}", BODY, {"content-type": "application/json"}
    )
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on {port} not ready in {timeout_s} s")


def _per_process_cpu(root: int) -> dict[int, float]:
    return {pid: _cpu_seconds(pid) for pid in process_tree(root)}


def _wrk_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_cell(
    root: int, port: int, script: Path, concurrency: int, seconds: int
) -> dict[str, Any]:
    load = os.getloadavg()[0]
    utc = time.strftime("%H:%M:%S", time.gmtime())
    before, wrk_before = _per_process_cpu(root), _wrk_cpu()
    cell = run_wrk(script, port, concurrency, seconds)
    after, wrk_after = _per_process_cpu(root), _wrk_cpu()
    served = max(cell.requests, 1)
    cpu_ms = [round((after[pid] - before.get(pid, 0.0)) / served * 1e3, 4) for pid in sorted(after)]
    return {
        "utc": utc,
        "load1": round(load, 2),
        "rps": cell.rps,
        "p50_ms": cell.p50_ms,
        "p99_ms": cell.p99_ms,
        "errors": cell.errors,
        "server_cpu_ms_per_req": cpu_ms,  # serving process first, then the model process
        "wrk_cpu_ms_per_req": round((wrk_after - wrk_before) / served * 1e3, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rows", type=int, default=1, help="rows per request (floors: ignored)")
    parser.add_argument("--servers", default="raw,asgi,trivial,rf")
    parser.add_argument("--serve-args", default="", help="extra `serve` flags for the runtime")
    parser.add_argument(
        "--runtime-src",
        type=Path,
        default=ROOT / "libs" / "runtime" / "src",
        help="the runtime's source tree to serve from (another checkout for an A/B)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "work" / "ceiling.json")
    args = parser.parse_args()
    python = str(HERE / ".venvs" / "modelbay" / "bin" / "python")
    script = write_script(HERE / "work" / "lua", f"ceiling-{args.rows}row", PATH, _body(args.rows))
    registry = PidRegistry(HERE / "work" / "live-pgids")
    kinds = args.servers.split(",")
    if any(kind.startswith("trivial") for kind in kinds):
        _ensure_trivial_bundle()
    running: dict[str, Any] = {}
    results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    try:
        for kind in kinds:
            launch = _launch(kind, python, args.serve_args.split(), args.runtime_src)
            process = start(launch, HERE / "work" / "logs" / f"ceiling-{kind}.log", registry)
            running[kind] = (process, launch.port)
            _wait_ready(launch.port)
            run_wrk(script, launch.port, args.concurrency, 2)  # warm-up
        for round_no in range(args.rounds):
            for kind in kinds:
                process, port = running[kind]
                cell = measure_cell(process.pid, port, script, args.concurrency, args.seconds)
                results[kind].append(cell)
                print(f"round {round_no + 1} {kind:8s} {json.dumps(cell)}", flush=True)
    finally:
        for process, _ in running.values():
            stop(process, registry)
    summary = {
        kind: {
            "median_rps": statistics.median(c["rps"] for c in cells),
            "median_p99_ms": statistics.median(c["p99_ms"] for c in cells),
        }
        for kind, cells in results.items()
        if cells
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "cells": results}, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
