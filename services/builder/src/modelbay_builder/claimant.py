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

# The identity checks are shared with the sweeping of scratch files (one copy of the rule).
from modelbay_common.scratch import pid_namespace as _pid_namespace
from modelbay_common.scratch import process_is_gone

__all__ = ["Claimant", "RecordedClaim", "process_is_gone", "this_process"]


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
