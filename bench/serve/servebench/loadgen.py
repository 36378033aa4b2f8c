"""Closed-loop load with wrk: one Lua script per request body, results read back as JSON."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# wrk's Lua API: the request is fixed once per script; `done` runs after the run and prints
# the summary as one JSON line, which is sturdier than parsing wrk's human output.
LUA_TEMPLATE = """
wrk.method = "POST"
wrk.path = "@PATH@"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[@BODY@]==]

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
"""

# 2 cores are shared by the server and the load generator: one wrk thread is enough for
# these rates and leaves the most CPU to the server.
WRK_THREADS = 1
WRK_TIMEOUT = "10s"


@dataclass(frozen=True)
class CellResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int]  # wrk's socket errors and "status" = responses with status > 399

    @property
    def valid(self) -> bool:
        return self.requests > 0 and not any(self.errors.values())

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "valid": self.valid}


def write_script(lua_dir: Path, name: str, path: str, body: bytes) -> Path:
    text = body.decode()
    if "]==]" in text:
        raise ValueError("request body would end the Lua long string early")
    script = lua_dir / f"{name}.lua"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(LUA_TEMPLATE.replace("@PATH@", path).replace("@BODY@", text))
    return script


def run_wrk(script: Path, port: int, concurrency: int, seconds: int) -> CellResult:
    argv = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{concurrency}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT}",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
    ]
    completed = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return _cell(json.loads(line.removeprefix("BENCH_JSON ")))
    raise RuntimeError(f"wrk printed no summary:\n{completed.stdout}\n{completed.stderr}")


def _cell(raw: dict[str, Any]) -> CellResult:
    seconds = raw["duration_us"] / 1e6
    return CellResult(
        requests=raw["requests"],
        seconds=round(seconds, 3),
        rps=round(raw["requests"] / seconds, 2) if seconds else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=round(raw["mean_us"] / 1000, 3),
        max_ms=raw["max_us"] / 1000,
        errors={k: raw[k] for k in ("connect", "read", "write", "status", "timeout")},
    )


def wrk_version() -> str:
    completed = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (completed.stdout or completed.stderr).splitlines()
    return first[0].strip() if first else "unknown"
