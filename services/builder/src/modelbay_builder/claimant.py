"""Who claimed a build: the host, the process id and where that process id means something.

A builder killed mid-build leaves its rows `building` with a heartbeat that merely stops; other
hosts can only wait `STALE_BUILD_SECONDS` to be sure it is gone. A builder restarted on the same
host can know at once: it looks the claimant's pid up. A pid is only comparable inside one pid
namespace of one kernel boot, so each claim records that scope (`pid_namespace`, the boot id and
the `/proc/self/ns/pid` identity): two containers sharing a hostname (`network_mode: host`) have
different namespaces, and a restarted container reuses the hostname and pid 1 with a new process.

A pid that the kernel gave to an unrelated process since reads as alive: that claim then waits
for the heartbeat takeover, which is slower but never wrong.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_OWN_PID_NAMESPACE = "/proc/self/ns/pid"


@dataclass(frozen=True)
class Claimant:
    """This process, as recorded on every build it claims."""

    host: str
    pid: int
    pid_namespace: str | None  # None where /proc cannot tell: no fast takeover then

    def same_pid_namespace(self, other_namespace: str | None) -> bool:
        return self.pid_namespace is not None and other_namespace == self.pid_namespace


@dataclass(frozen=True)
class RecordedClaim:
    """A running build as its row records its claimant (for the start-up takeover)."""

    build_id: str
    subject: str
    worker_id: str
    pid: int


def this_process() -> Claimant:
    return Claimant(host=socket.gethostname(), pid=os.getpid(), pid_namespace=_pid_namespace())


@cache
def _pid_namespace() -> str | None:
    try:
        boot_id = _BOOT_ID.read_text().strip()
        namespace = os.readlink(_OWN_PID_NAMESPACE)  # e.g. "pid:[4026531836]"
    except OSError:
        return None
    return f"{boot_id}/{namespace}" if boot_id else None


def process_is_gone(pid: int) -> bool:
    """True when no process has this pid in our namespace, or only its unreaped zombie does."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    try:
        # The state is the first field after the parenthesised command name.
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()
    return bool(state) and state[0] in {"Z", "X"}
