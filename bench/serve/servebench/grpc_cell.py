"""The cell "gRPC vs REST (protobuf)" for the same model and server process (issue 14).

One `python -m modelbay_runtime serve BUNDLE --grpc-port P` serves the bench's RF bundle on both
ports; the same load generator drives both, so the ratio measures the transports and not two
clients: h2load (nghttp2) over HTTP/1.1 for `POST /model/methods/classify` with
`application/x-protobuf` in and out, and over HTTP/2 for the gRPC method
`/<package>.Model/classify` (the length-prefixed gRPC frame of the same protobuf message). Each
connection carries one request at a time (`-m 1`), so concurrency = connections for both.
h2load reports mean latency, not percentiles. Rounds interleave the transports cell by cell and
record the load average before each, because the machine is shared.

    cd bench/serve && ../../.tools/bin/uv run --frozen python -m servebench grpc \\
        --work work --out results/grpc.json
"""

from __future__ import annotations

import re
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from servebench import machine
from servebench.client import free_port

ROUNDS = 3
CELLS = ((1, 8), (1, 64), (100, 8))  # (rows per request, concurrent connections)
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def _h2load() -> str:
    found = shutil.which("h2load")
    if found is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "nghttp2-client"], check=True)
        found = shutil.which("h2load")
    if found is None:
        raise RuntimeError("h2load (Debian nghttp2-client) is not available")
    return found


def _messages(bundle: Path, rows: list[list[float]]) -> tuple[str, str, bytes, Any]:
    """(service, method, request bytes, output class) from the bundle's own descriptors."""
    from modelbay_runtime.server.protobuf_codec import MessageCatalog

    catalog = MessageCatalog((bundle / "model.descriptor.pb").read_bytes())
    service = catalog.service_names()[0]
    package = service.rpartition(".")[0]
    request = catalog.message_class(f"{package}.Input")(
        **{name: [row[i] for row in rows] for i, name in enumerate(FEATURES)}
    )
    return (
        service,
        "classify",
        request.SerializeToString(),
        catalog.message_class(f"{package}.Output"),
    )


def _start(bundle: Path, port: int, grpc_port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "modelbay_runtime", "serve", str(bundle), "--host"]
    command += ["127.0.0.1", "--port", str(port), "--grpc-port", str(grpc_port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"the model server did not become ready; see {log}")


def _check_both(port: int, grpc_port: int, service: str, body: bytes, output: Any) -> list[int]:
    """Both transports answer the same predictions before anything is timed."""
    import http.client

    import grpc

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"content-type": "application/x-protobuf", "accept": "application/x-protobuf"}
    connection.request("POST", "/model/methods/classify", body, headers)
    rest = list(output.FromString(connection.getresponse().read()).IrisType)
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        answer = channel.unary_unary(f"/{service}/classify")(body, timeout=30)
    if list(output.FromString(answer).IrisType) != rest:
        raise RuntimeError("gRPC and REST answered different predictions")
    return rest


def _run(h2load: str, url: str, body_file: Path, headers: list[str], extra: list[str],
         connections: int, seconds: int) -> dict[str, float]:  # fmt: skip
    command = [h2load, *extra, "-c", str(connections), "-m", "1", "-D", str(seconds)]
    command += ["--warm-up-time", "1", "-d", str(body_file)]
    for header in headers:
        command += ["-H", header]
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    rate = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", done.stdout)
    counts = re.search(
        r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded", done.stdout
    )
    latency = re.search(
        r"time for request:\s+([\d.]+)(\w+)\s+([\d.]+)(\w+)\s+([\d.]+)(\w+)", done.stdout
    )
    if rate is None or counts is None or latency is None:
        raise RuntimeError(f"unexpected h2load output:\n{done.stdout}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": float(rate.group(1)),
        "requests": int(counts.group(1)),
        "succeeded": int(counts.group(2)),
        "mean_ms": round(float(latency.group(5)) * scale[latency.group(6)], 3),
        "max_ms": round(float(latency.group(3)) * scale[latency.group(4)], 3),
    }


def measure(work: Path, seconds: int) -> dict[str, Any]:
    import json

    h2load = _h2load()
    bundle = work / "modelbay" / "rf"
    data = json.loads((work / "data.json").read_text())
    port, grpc_port = free_port(), free_port()
    process = _start(bundle, port, grpc_port, work / "grpc-server.log")
    rounds: dict[str, list[dict[str, Any]]] = {}
    try:
        bodies: dict[int, tuple[str, Path, Path]] = {}
        for rows in {r for r, _ in CELLS}:
            service, _, body, output = _messages(bundle, data["rows"][str(rows)])
            if (
                _check_both(port, grpc_port, service, body, output)
                != data["expected"]["rf"][str(rows)]
            ):
                raise RuntimeError(f"{rows}-row predictions differ from the trained model's")
            rest_file, grpc_file = (
                work / f"grpc-cell-{rows}.rest.bin",
                work / f"grpc-cell-{rows}.grpc.bin",
            )
            rest_file.write_bytes(body)
            grpc_file.write_bytes(b"\x00" + struct.pack(">I", len(body)) + body)
            bodies[rows] = (service, rest_file, grpc_file)
        for round_index in range(ROUNDS):
            for rows, connections in CELLS:
                service, rest_file, grpc_file = bodies[rows]
                order = ["rest", "grpc"] if round_index % 2 == 0 else ["grpc", "rest"]
                for transport in order:
                    load = machine.loadavg()
                    if transport == "rest":
                        result = _run(
                            h2load, f"http://127.0.0.1:{port}/model/methods/classify",
                            rest_file, ["content-type: application/x-protobuf",
                                        "accept: application/x-protobuf"], ["--h1"],
                            connections, seconds,
                        )  # fmt: skip
                    else:
                        result = _run(
                            h2load, f"http://127.0.0.1:{grpc_port}/{service}/classify",
                            grpc_file, ["content-type: application/grpc", "te: trailers"], [],
                            connections, seconds,
                        )  # fmt: skip
                    key = f"{transport} {rows}-row c={connections}"
                    rounds.setdefault(key, []).append({**result, "loadavg_before": load})
                    print(f"  round {round_index + 1} {key}: {result}", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
    medians = {key: statistics.median(r["rps"] for r in runs) for key, runs in rounds.items()}
    ratios = {}
    for rows, connections in CELLS:
        cell = f"{rows}-row c={connections}"
        ratios[cell] = round(medians[f"grpc {cell}"] / medians[f"rest {cell}"], 2)
    return {
        "machine": machine.machine_facts(),
        "rounds": rounds,
        "median_rps": medians,
        "grpc_over_rest": ratios,
    }
