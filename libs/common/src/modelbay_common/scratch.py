"""Scratch files and directories that name their owner, so a successor can sweep a dead one's.

A process killed mid-work leaves what it was writing: a builder's build context (~194 MB per
build), onboarding's resolve directories and upload spool files (up to 2 GiB each), a running
validation container. Nobody swept them (issue 11, defect 5). The builder's claims answer
"is the process that owns this still alive?" with the host, the pid and the pid namespace
(`modelbay_builder.claimant`); the same identity is put into the *name* of every scratch entry
here, so the answer needs no marker file that a crash could leave half-written:

    <base><owner tag>-<anything>     e.g.  modelbay-resolve-3fa2c1d0.4121.9be07a11-k2j4h1

where the owner tag is `<host hash>.<pid>.<pid-namespace hash>`. `sweep` removes an entry only
when its tag names this host and this pid namespace, a pid other than ours, and that pid is gone
(or a zombie). Entries of other hosts (a shared volume), of live processes and of our own
process are never touched; names without a tag (written before this existed) are left alone.
A pid the kernel has reused reads as alive: that entry waits for the next sweep after the
unrelated process ends — late, never wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_OWN_PID_NAMESPACE = "/proc/self/ns/pid"


@dataclass(frozen=True)
class ProcessIdentity:
    """A process as a successor on the same host can check it: host, pid, pid namespace."""

    host: str
    pid: int
    pid_namespace: str | None  # None where /proc cannot tell: nothing is swept then


def this_process() -> ProcessIdentity:
    return ProcessIdentity(socket.gethostname(), os.getpid(), pid_namespace())


@cache
def pid_namespace() -> str | None:
    """This kernel boot and pid namespace: a pid only means something inside one of them."""
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


def _short_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def owner_tag(process: ProcessIdentity | None = None) -> str:
    """`<host hash>.<pid>.<namespace hash>`: no `-`, so it ends at the first dash."""
    me = process or this_process()
    return f"{_short_hash(me.host)}.{me.pid}.{_short_hash(me.pid_namespace or '')}"


def owned_prefix(base: str, process: ProcessIdentity | None = None) -> str:
    """A name prefix (for `tempfile.mkdtemp(prefix=...)` and friends) that names this process."""
    return f"{base}{owner_tag(process)}-"


def tag_is_debris(tag: str, me: ProcessIdentity | None = None) -> bool:
    """The tag names a dead process of this host and pid namespace (never ours)."""
    me = me or this_process()
    if me.pid_namespace is None:
        return False
    host, _, rest = tag.partition(".")
    pid_text, _, namespace = rest.partition(".")
    if host != _short_hash(me.host) or namespace != _short_hash(me.pid_namespace):
        return False
    if not pid_text.isdigit() or int(pid_text) == me.pid:
        return False
    return process_is_gone(int(pid_text))


def _tag_of(name: str, base: str) -> str | None:
    if not name.startswith(base):
        return None
    tag, dash, _ = name[len(base) :].partition("-")
    return tag if dash and tag.count(".") == 2 else None


def sweep(directory: Path, bases: Iterable[str], me: ProcessIdentity | None = None) -> list[Path]:
    """Remove the entries of `directory` named `<base><tag>-...` whose owner is dead."""
    me = me or this_process()
    removed: list[Path] = []
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        tags = (_tag_of(entry.name, base) for base in bases)
        tag = next((found for found in tags if found is not None), None)
        if tag is None or not tag_is_debris(tag, me):
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()
        removed.append(entry)
    if removed:
        log.info("swept %d entries left by dead processes in %s", len(removed), directory)
    return removed


class DebrisSweeper:
    """A service-host worker: sweeps once at start, then every `interval` seconds (0: never)."""

    def __init__(self, sweep_once: Callable[[], object], interval: float) -> None:
        self._sweep_once = sweep_once
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._run_once()
        if self._interval > 0:
            self._task = asyncio.create_task(self._loop(), name="debris-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._run_once()

    async def _run_once(self) -> None:
        try:
            await asyncio.to_thread(self._sweep_once)
        except Exception:  # a failed sweep must not stop the service; the next one retries
            log.exception("sweeping debris of dead processes failed")
