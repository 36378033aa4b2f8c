"""Closed-loop load with `wrk`: N connections, each sending the next request of a scenario's
list as soon as the previous answer arrived, for a fixed time after a warm-up. wrk (C, one
thread) leaves the two cores to the gateway, the catalog and Postgres, where a Python load
generator would compete with them. A Lua script cycles through the request paths, sends the
bearer token, and prints the latency percentiles and the count of HTTP errors as JSON."""

from __future__ import annotations

import json
import os
import resource
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
    `postgres`: the backends of the benchmark's database, with those that exited during the
    cell; `wrk`: the load generator): it moves much less with other people's load than latency
    does, and says where a request's time goes."""
    backends_started: int | None = None
    """Postgres sessions opened on the benchmark's database during the cell (0 when the
    services' pools keep their connections)."""

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
    sessions_opened: Callable[[], int] | None = None,
) -> CellResult:
    with tempfile.TemporaryDirectory(prefix="catalogbench-") as work:
        script = Path(work) / "paths.lua"
        script.write_text(_SCRIPT)
        listing = Path(work) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        env = {"CATALOGBENCH_PATHS": str(listing), "CATALOGBENCH_TOKEN": token, "PATH": "/usr/bin"}
        if warmup > 0:
            _wrk(base_url, script, env, connections, warmup)
        sessions_before = sessions_opened() if sessions_opened else 0
        cpu_before = cpu_seconds() if cpu_seconds else {}
        wrk_before = _children_cpu_seconds()
        found = _wrk(base_url, script, env, connections, seconds)
        wrk_used = _children_cpu_seconds() - wrk_before
        cpu_after = cpu_seconds() if cpu_seconds else {}
        # The first reading's own session is counted by the second.
        started = sessions_opened() - sessions_before - 1 if sessions_opened else None
    requests = int(found["requests"])
    cpu_used = {part: _used(cpu_before.get(part, {}), after) for part, after in cpu_after.items()}
    if cpu_used:
        # The load generator shares the two cores: its CPU is part of what a request costs here.
        cpu_used["wrk"] = wrk_used
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
        backends_started=started,
    )


def _used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds a part used between two readings. A process that appeared counts from zero.
    One that exited is counted by its parent's `REAPED` total when the part has one (its whole
    life: so the seconds it had used before the cell are taken off again)."""
    used = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
    if REAPED in after:
        used -= sum(seconds for pid, seconds in before.items() if pid not in after)
    return used


def _children_cpu_seconds() -> float:
    """User + system CPU of this process's children that have exited (wrk, once it returns)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            found[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return found


REAPED = -1
"""The key, among a part's processes, of the CPU of the children its parent process has reaped
(`cutime` + `cstime` of Postgres's postmaster): backends that exited."""


def cpu_reader(
    processes: dict[str, int], database: str
) -> Callable[[], dict[str, dict[int, float]]]:
    """What `run_cell` reads before and after a cell: each named process's CPU seconds, and
    Postgres's for `database` (postgres_cpu_seconds)."""

    def read() -> dict[str, dict[int, float]]:
        found = {name: process_cpu_seconds([pid]) for name, pid in processes.items()}
        found["postgres"] = postgres_cpu_seconds(database)
        return found

    return read


def postgres_cpu_seconds(database: str) -> dict[int, float]:
    """The CPU seconds of the Postgres backends of `database` that are running, per pid, plus
    under `REAPED` those of every backend of the cluster that has exited so far.

    A pool that opens and closes connections (SQLAlchemy's overflow connections do, when more
    requests are in flight than its `pool_size`) leaves backends that live for a few requests:
    counting only the backends running at the start and the end of a cell missed their CPU and
    made Postgres look almost free (0.007 ms a model page). An exited backend's CPU is added to
    its parent's `cutime`/`cstime` when the postmaster reaps it, so the difference of those
    over a cell is the CPU of every backend that exited during it: of the benchmark's database
    and, on a shared server, of the other databases too (an upper bound there; exact when
    nothing else runs, and the run also records how many backends were started)."""
    pids = postgres_backends(database)
    found = process_cpu_seconds(pids)
    parents = {parent for pid in pids if (parent := _parent_of(pid)) is not None}
    if len(parents) == 1:  # the postmaster
        found[REAPED] = _reaped_children_seconds(parents.pop())
    return found


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def _reaped_children_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime


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
