"""Cold start of a model image: `docker run` → the first 200 from `/readyz` (issue 13).

Beside the wall time, the CPU time the container used until it was ready (its cgroup's counter:
the machine's load stretches the first far more than the second) and, per process of the
container, when it started after `docker run` and the CPU it had used when `/readyz` first
answered (`/proc/<pid>/stat` on the Docker host; left out where the host's `/proc` does not show
the container's processes). The model server's own log gives when the model process reported the
model loaded (`loaded_after_seconds`). Several images are started in interleaved rounds (A B A B
…), so a load spike on the shared machine falls on all of them alike.
"""

from __future__ import annotations

import os
import statistics
import time
import urllib.request
from datetime import datetime
from typing import Any

import docker

LOADED_LOG_LINE = "serves the model"  # model_process.ProcessRunner.start logs it on "ready"
_TICKS = os.sysconf("SC_CLK_TCK")


def cold_starts(client: docker.DockerClient, refs: list[str], runs: int) -> dict[str, Any]:
    """Median cold start of each image over `runs` interleaved rounds, with every run."""
    measured: dict[str, list[dict[str, Any]]] = {ref: [] for ref in refs}
    for _ in range(runs):
        for ref in refs:
            measured[ref].append(cold_start_once(client, ref))
    return {ref: summary(runs_of_ref) for ref, runs_of_ref in measured.items()}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [run["seconds"] for run in runs]
    processes: dict[str, list[dict[str, float]]] = {}
    for run in runs:
        for process in run["processes"]:
            processes.setdefault(process["command"], []).append(process)
    loaded = [run["loaded_after_seconds"] for run in runs if run.get("loaded_after_seconds")]
    return {
        "seconds": round(statistics.median(walls), 2),
        "best_seconds": round(min(walls), 2),
        "cpu_seconds": round(statistics.median(run["cpu_seconds"] for run in runs), 2),
        "all_seconds": [round(wall, 2) for wall in walls],
        "loaded_after_seconds": round(statistics.median(loaded), 2) if loaded else None,
        "processes": {
            command: {
                "started_after_seconds": _median(items, "started_after_seconds"),
                "cpu_seconds": _median(items, "cpu_seconds"),
            }
            for command, items in processes.items()
        },
    }


def _median(items: list[dict[str, float]], key: str) -> float:
    return round(statistics.median(item[key] for item in items), 2)


def cold_start_once(client: docker.DockerClient, ref: str) -> dict[str, Any]:
    started_boot = time.clock_gettime(time.CLOCK_BOOTTIME)  # /proc's start times count from boot
    started_wall = time.time()  # the engine's log timestamps are wall-clock
    started = time.monotonic()
    container = client.containers.run(ref, detach=True, ports={"8080/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                    wall = time.monotonic() - started
                    break
            except OSError:
                if time.monotonic() - started > 120:
                    raise TimeoutError(f"{ref} not ready in 120 s") from None
                time.sleep(0.01)
        processes = _processes(container, started_boot)  # first: the CPU counters keep running
        stats = container.stats(stream=False)
        return {
            "seconds": wall,
            "cpu_seconds": stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9,
            "processes": processes,
            "loaded_after_seconds": _loaded_after(container, started_wall),
        }
    finally:
        container.remove(force=True)


def _processes(container: Any, started_boot: float) -> list[dict[str, Any]]:
    """Each process of the container: its command (argv after the interpreter), when it
    started after `docker run`, and its user + system CPU so far."""
    found = []
    for pid in (row[1] for row in container.top(ps_args="-eo user,pid")["Processes"]):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as file:
                fields = file.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                argv = file.read().decode(errors="replace").split("\0")
        except OSError:
            continue  # not this host's /proc (a remote engine), or the process ended
        # Fields after the command: state is [0], utime [11], stime [12], starttime [19].
        command = " ".join(argv[1:4]) or argv[0]
        found.append(
            {
                "command": command,
                "started_after_seconds": round(int(fields[19]) / _TICKS - started_boot, 3),
                "cpu_seconds": round((int(fields[11]) + int(fields[12])) / _TICKS, 3),
            }
        )
    return found


def _loaded_after(container: Any, started_wall: float) -> float | None:
    for line in container.logs(timestamps=True).decode(errors="replace").splitlines():
        if LOADED_LOG_LINE in line:
            stamp = line.split(" ", 1)[0]  # RFC 3339 with nanoseconds: keep microseconds
            stamp = stamp[:26] + "+00:00" if stamp.endswith("Z") else stamp
            return round(datetime.fromisoformat(stamp).timestamp() - started_wall, 3)
    return None
