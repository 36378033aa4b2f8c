"""What the results were measured on: machine facts and the exact versions in each venv."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

VERSION_PROBE = """
import importlib.metadata as m, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
found["python"] = sys.version.split()[0]
print(json.dumps(found))
"""


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def machine_facts() -> dict[str, Any]:
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "mem_total_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "loadavg_at_start": loadavg(),
    }


def venv_versions(python: str, packages: tuple[str, ...]) -> dict[str, str]:
    completed = subprocess.run(
        [python, "-c", VERSION_PROBE, *packages],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    versions: dict[str, str] = json.loads(completed.stdout)
    return versions
