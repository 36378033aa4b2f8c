"""Closed-loop load with `wrk`: N connections, each sending the next request of a scenario's
list as soon as the previous answer arrived, for a fixed time after a warm-up. wrk (C, one
thread) leaves the two cores to the gateway, the catalog and Postgres, where a Python load
generator would compete with them. A Lua script cycles through the request paths, sends the
bearer token, and prints the latency percentiles and the count of HTTP errors as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = r"""
local paths = {}
local index = 0
for line in io.lines(os.getenv("CATALOGBENCH_PATHS")) do paths[#paths + 1] = line end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CATALOGBENCH_TOKEN")
wrk.headers["Accept"] = "application/json"

request = function()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end

done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %f, "status_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass(frozen=True)
class CellResult:
    scenario: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    status_errors: int
    socket_errors: int
    cpu_ms_per_request: dict[str, float] | None = None
    """CPU time (user + system) per request during the cell, by part (`gateway`, `catalog`,
    `postgres`: the backends of the benchmark's database): it moves much less with other
    people's load than latency does, and says where a request's time goes."""

    @property
    def cpu_total_ms(self) -> float:
        return sum((self.cpu_ms_per_request or {}).values())

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def valid(self) -> bool:
        return self.requests > 0 and self.status_errors == 0 and self.socket_errors == 0


def run_cell(
    scenario: str,
    base_url: str,
    paths: list[str],
    token: str,
    *,
    connections: int,
    seconds: float,
    warmup: float,
    cpu_seconds: Callable[[], dict[str, dict[int, float]]] | None = None,
) -> CellResult:
    with tempfile.TemporaryDirectory(prefix="catalogbench-") as work:
        script = Path(work) / "paths.lua"
        script.write_text(_SCRIPT)
        listing = Path(work) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        env = {"CATALOGBENCH_PATHS": str(listing), "CATALOGBENCH_TOKEN": token, "PATH": "/usr/bin"}
        if warmup > 0:
            _wrk(base_url, script, env, connections, warmup)
        cpu_before = cpu_seconds() if cpu_seconds else {}
        found = _wrk(base_url, script, env, connections, seconds)
        cpu_after = cpu_seconds() if cpu_seconds else {}
    requests = int(found["requests"])
    # Per process: a backend that appeared during the cell counts from zero; one that left
    # takes its last seconds with it (the pools keep their connections, so that is rare).
    cpu_used = {
        part: sum(used - cpu_before.get(part, {}).get(pid, 0.0) for pid, used in found.items())
        for part, found in cpu_after.items()
    }
    return CellResult(
        scenario=scenario,
        requests=requests,
        seconds=float(found["seconds"]),
        p50_ms=found["p50_us"] / 1000,
        p95_ms=found["p95_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        max_ms=found["max_us"] / 1000,
        status_errors=int(found["status_errors"]),
        socket_errors=int(found["socket_errors"]),
        cpu_ms_per_request={part: used * 1000 / requests for part, used in cpu_used.items()}
        if cpu_used and requests
        else None,
    )


def process_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return found


def postgres_backends(database: str) -> list[int]:
    """The server processes serving `database`. Their title is `postgres: USER DATABASE HOST`,
    with the cluster's name first on Debian (`postgres: 15/main: USER DATABASE HOST`)."""
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        words = title.split()
        if words[:1] != ["postgres:"]:
            continue
        if len(words) > 1 and words[1].endswith(":"):
            words = words[1:]  # the cluster's name
        if len(words) >= 3 and words[2] == database:
            pids.append(int(entry))
    return pids


def _wrk(
    base_url: str, script: Path, env: dict[str, str], connections: int, seconds: float
) -> dict[str, float]:
    command = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--script",
        str(script),
        base_url,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    last = [line for line in done.stdout.splitlines() if line.startswith("{")][-1]
    return dict(json.loads(last))


def wrk_version() -> str:
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip()
