"""Server processes: start in their own process group, stop the whole tree, measure its PSS."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

STOP_GRACE_SECONDS = 10.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Launch:
    """Everything needed to start one server process."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int


class PidRegistry:
    """A file listing live process groups, so run.sh's trap can kill them if we die hard."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, pgid: int) -> None:
        with self.path.open("a") as handle:
            handle.write(f"{pgid}\n")

    def remove(self, pgid: int) -> None:
        if not self.path.exists():
            return
        kept = [line for line in self.path.read_text().splitlines() if line != str(pgid)]
        self.path.write_text("".join(f"{line}\n" for line in kept))


def start(launch: Launch, log_path: Path, registry: PidRegistry) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        # A new session makes the server the leader of its own process group, so one killpg
        # reaches every worker it forks.
        process = subprocess.Popen(
            launch.argv,
            cwd=launch.cwd,
            env=launch.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    registry.add(process.pid)
    return process


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may contain spaces; the fields after it are fixed.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    return children


def process_tree(root: int) -> list[int]:
    """The root and every descendant, found through the parent links in /proc."""
    children = _children_by_parent()
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def _pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0  # the process ended between listing and reading
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def tree_pss_kib(root: int) -> tuple[int, int]:
    """Summed PSS of the process tree (KiB) and how many processes it has."""
    pids = process_tree(root)
    return sum(_pss_kib(pid) for pid in pids), len(pids)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, cutime, cstime (fields 14–17): own CPU plus that of reaped children.
    return sum(int(v) for v in fields[11:15]) / CLOCK_TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by the server's process tree.

    On a shared machine wall-clock rates move with other people's load; the server's own CPU
    per request moves much less, so the report shows both.
    """
    return sum(_cpu_seconds(pid) for pid in process_tree(root))


def _signal_all(pgid: int, pids: list[int], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
    # Descendants that left the group (a daemonising worker) still get the signal.
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop(process: subprocess.Popen[bytes], registry: PidRegistry) -> None:
    """Stop the server and everything it started: SIGTERM, a grace period, then SIGKILL."""
    pgid = process.pid
    pids = process_tree(pgid)
    _signal_all(pgid, pids, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        process.poll()  # reap the leader so it does not linger as a zombie
        time.sleep(0.05)
    _signal_all(pgid, [pid for pid in pids if _alive(pid)], signal.SIGKILL)
    process.wait(timeout=STOP_GRACE_SECONDS)
    registry.remove(pgid)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
