"""`python -m servebench run ...` measures; `python -m servebench report ...` writes the doc."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from servebench import machine, procs
from servebench.loadgen import wrk_version
from servebench.peers import PEER_FACTORIES, BenchPaths, Peer, all_peers
from servebench.report import write_report
from servebench.runner import BenchData, ServerUnderTest, Settings, measure_model

MODELS = ("rf", "logreg")


def _raise_on_term(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every `finally` stops its server.
    raise SystemExit(128 + signum)


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _peer_info(peer: Peer, paths: BenchPaths, skipped: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {"label": peer.label, "workers": peer.workers, "skipped": skipped}
    if skipped is None:
        info["versions"] = machine.venv_versions(paths.python(peer.venv), peer.packages)
    return info


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _raise_on_term)
    paths = BenchPaths(here=args.here, work=args.work, venvs=args.venvs)
    settings = Settings(duration=args.duration, warmup=args.warmup)
    data = BenchData.load(paths.work / "data.json")
    registry = procs.PidRegistry(paths.work / "live-pgids")
    peers = all_peers(paths, args.peers.split(","))
    skipped = {peer.name: peer.available() for peer in peers}
    document: dict[str, Any] = {
        "schema": 1,
        "started_at": _utc_now(),
        "machine": machine.machine_facts(),
        "tools": {"wrk": wrk_version(), "wrk_threads": 1},
        "settings": {
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            "cold_runs": settings.cold_runs,
            "idle_s": settings.idle_seconds,
        },
        "peers": {p.name: _peer_info(p, paths, skipped[p.name]) for p in peers},
        "results": [],
    }
    for name, reason in skipped.items():
        if reason:
            print(f"skipping {name}: {reason}", flush=True)
    active = [peer for peer in peers if not skipped[peer.name]]
    for model in args.models.split(","):
        servers = [ServerUnderTest(p, model, data, paths, settings, registry) for p in active]
        measure_model(servers, settings)
        document["results"].extend(server.result for server in servers)
        _write(args.out, document)  # after every model, so a crash keeps what was done
    document["finished_at"] = _utc_now()
    document["machine"]["loadavg_at_end"] = machine.loadavg()
    _write(args.out, document)
    print(f"results -> {args.out}")
    return 0


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def report(args: argparse.Namespace) -> int:
    document = json.loads(args.results.read_text())
    # Name the raw file relative to the repository root (the doc lives in docs/).
    shown = Path(os.path.relpath(args.results.resolve(), args.doc.resolve().parent.parent))
    write_report(document, args.doc, shown)
    print(f"report -> {args.doc}")
    return 0


def onnx(args: argparse.Namespace) -> int:
    """The ONNX overhead cell (onnx_cell.py), in the workspace venv; raw JSON to --out."""
    from servebench.onnx_cell import measure

    signal.signal(signal.SIGTERM, _raise_on_term)
    document = {"started_at": _utc_now(), **measure(args.work, args.duration)}
    _write(args.out, document)
    print(json.dumps(document["p50_ms"]), f"overhead p50 {document['overhead_p50_ms']} ms")
    print(f"results -> {args.out}")
    return 0


def grpc_vs_rest(args: argparse.Namespace) -> int:
    """gRPC vs REST (protobuf), one server, one load generator (grpc_cell.py); raw JSON to --out."""
    from servebench.grpc_cell import measure

    signal.signal(signal.SIGTERM, _raise_on_term)
    document = {"started_at": _utc_now(), **measure(args.work, args.duration)}
    document["finished_at"] = _utc_now()
    _write(args.out, document)
    print(json.dumps(document["grpc_over_rest"]), f"results -> {args.out}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="servebench")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="measure every peer, write raw JSON")
    run_parser.add_argument("--here", type=Path, required=True)
    run_parser.add_argument("--work", type=Path, required=True)
    run_parser.add_argument("--venvs", type=Path, required=True)
    run_parser.add_argument("--out", type=Path, required=True)
    run_parser.add_argument("--peers", default=",".join(PEER_FACTORIES))
    run_parser.add_argument("--models", default=",".join(MODELS))
    run_parser.add_argument("--duration", type=int, default=12)
    run_parser.add_argument("--warmup", type=int, default=2)
    run_parser.set_defaults(handler=run)
    onnx_parser = commands.add_parser("onnx", help="ONNX model vs onnxruntime in-process")
    onnx_parser.add_argument("--work", type=Path, required=True)
    onnx_parser.add_argument("--out", type=Path, required=True)
    onnx_parser.add_argument("--duration", type=int, default=5, help="wrk seconds per round")
    onnx_parser.set_defaults(handler=onnx)
    grpc_parser = commands.add_parser("grpc", help="gRPC vs REST (protobuf), same server")
    grpc_parser.add_argument("--work", type=Path, required=True)
    grpc_parser.add_argument("--out", type=Path, required=True)
    grpc_parser.add_argument("--duration", type=int, default=5, help="h2load seconds per run")
    grpc_parser.set_defaults(handler=grpc_vs_rest)
    report_parser = commands.add_parser("report", help="render results JSON into the doc")
    report_parser.add_argument("--results", type=Path, required=True)
    report_parser.add_argument("--doc", type=Path, required=True)
    report_parser.set_defaults(handler=report)
    args = parser.parse_args(argv)
    handler: Any = args.handler
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
