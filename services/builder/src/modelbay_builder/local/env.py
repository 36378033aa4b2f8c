"""The local-process mode's environments: one venv per lock, one runtime dir per runtime wheel.

What the image's layers are to the Docker mode: `venvs/<lock_hash>/` holds the lock installed
with `pip install --no-index` from the wheelhouse (reused by every version with the same lock,
like the cached dependency layer), and `runtimes/<wheel sha256>/` holds the modelbay-runtime wheel
installed `--no-deps --target` and put on PYTHONPATH, exactly as in the image, so a new runtime
never invalidates a venv. A directory counts only once its marker file exists: a builder stopped
half-way leaves a directory without one, which the next build removes and makes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from modelbay_builder.build_log import BuildLog
from modelbay_builder.context import lock_file_text
from modelbay_builder.errors import BuildStepFailed
from modelbay_builder.validation import DISTRIBUTIONS_SCRIPT

READY_MARKER = ".modelbay-ready"
FAILURE_TAIL_LINES = 40
# One line of output may be long: the distribution listing is a single JSON line, and some
# packages paste their whole licence text into their metadata.
OUTPUT_LINE_LIMIT = 16 * 1024 * 1024

# The environment of every child (pip, the model server): only what a Python process needs, so
# the builder's own VIRTUAL_ENV, PYTHONPATH or MODELBAY_* settings never leak into a model.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


def child_environment(**extra: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
    env.update(PYTHONNOUSERSITE="1", PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(extra)
    return env


@dataclass(frozen=True)
class LocalEnvironment:
    """A ready venv (dependencies) and runtime directory (the model server, on PYTHONPATH)."""

    venv: Path
    runtime: Path
    reused: bool  # the venv existed: the local analogue of `dependency_layer_cached`

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def server_environment(self) -> dict[str, str]:
        return child_environment(
            PYTHONPATH=str(self.runtime), PYTHONUNBUFFERED="1", VIRTUAL_ENV=str(self.venv)
        )


WheelhouseFetcher = Callable[[], Awaitable[Path]]


class LocalEnvironments:
    """Makes and reuses venvs and runtime dirs under `root`; one creation per key at a time."""

    def __init__(self, root: Path, base_python: str, *, timeout: float) -> None:
        self._venvs = root / "venvs"
        self._runtimes = root / "runtimes"
        self._base_python = base_python
        self._timeout = timeout
        self._locks: dict[str, asyncio.Lock] = {}

    async def prepare(
        self,
        *,
        lock: Sequence[str],
        lock_hash: str,
        python_version: str,
        fetch_wheelhouse: WheelhouseFetcher,
        runtime_wheel: Path,
        log: BuildLog,
    ) -> LocalEnvironment:
        """The venv of `lock_hash` (made from the wheelhouse only when missing) and the runtime."""
        venv = self._venvs / _safe_key(lock_hash)
        async with self._lock_for(f"venv:{venv.name}"):
            reused = (venv / READY_MARKER).is_file()
            if reused:
                log.line(f"venv {venv} of lock {lock_hash[:12]} exists: reusing it")
            else:
                await self._make_venv(venv, lock, python_version, await fetch_wheelhouse(), log)
        runtime = await self._runtime_dir(venv, runtime_wheel, log)
        return LocalEnvironment(venv=venv, runtime=runtime, reused=reused)

    def _lock_for(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _make_venv(
        self,
        venv: Path,
        lock: Sequence[str],
        python_version: str,
        wheelhouse: Path,
        log: BuildLog,
    ) -> None:
        await asyncio.to_thread(shutil.rmtree, venv, True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        await self._check_interpreter(python_version, log)
        log.line(f"creating the venv {venv} with {self._base_python}")
        await run_command(
            [self._base_python, "-m", "venv", str(venv)],
            log,
            what="creating the venv",
            seconds=self._timeout,
        )
        lock_file = venv / "requirements.lock.txt"
        lock_file.write_text(lock_file_text(lock, python_version), encoding="utf-8")
        log.line(f"installing the lock ({len(lock)} pins) from the wheelhouse, no index")
        install = [
            str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
            "--find-links", str(wheelhouse), "--only-binary=:all:", "--no-cache-dir",
            "-r", str(lock_file),
        ]  # fmt: skip
        await run_command(
            install, log, what="pip install from the wheelhouse", seconds=self._timeout
        )
        (venv / READY_MARKER).write_text(lock_file.read_text(encoding="utf-8"), encoding="utf-8")

    async def _check_interpreter(self, python_version: str, log: BuildLog) -> None:
        """The wheels were resolved for the lock's Python: any other interpreter cannot use them."""
        output = await run_command(
            [self._base_python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            log,
            what=f"asking {self._base_python} for its version",
            seconds=60,
        )
        found = output.strip().splitlines()[-1] if output.strip() else "?"
        if found != python_version:
            raise BuildStepFailed(
                f"the lock is for Python {python_version} but {self._base_python} is Python "
                f"{found}; set MODELBAY_BUILDER_LOCAL_PYTHON to a python{python_version}"
            )

    async def _runtime_dir(self, venv: Path, runtime_wheel: Path, log: BuildLog) -> Path:
        digest = await asyncio.to_thread(_file_sha256, runtime_wheel)
        target = self._runtimes / digest[:32]
        async with self._lock_for(f"runtime:{target.name}"):
            if (target / READY_MARKER).is_file():
                return target
            await asyncio.to_thread(shutil.rmtree, target, True)
            target.parent.mkdir(parents=True, exist_ok=True)
            log.line(f"installing {runtime_wheel.name} into {target}")
            install = [
                str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
                "--no-deps", "--no-cache-dir", "--target", str(target), str(runtime_wheel),
            ]  # fmt: skip
            await run_command(
                install, log, what="installing the runtime wheel", seconds=self._timeout
            )
            (target / READY_MARKER).write_text(runtime_wheel.name, encoding="utf-8")
            return target


async def list_distributions(environment: LocalEnvironment) -> list[dict[str, str]]:
    """The Python distributions the model server sees (venv + runtime), for the SBOM."""
    output = await run_command(
        [str(environment.python), "-c", DISTRIBUTIONS_SCRIPT],
        BuildLog(),
        what="listing the venv's Python packages",
        seconds=120,
        env=environment.server_environment(),
    )
    distributions: list[dict[str, str]] = json.loads(output)
    return distributions


def tree_size(*roots: Path) -> int:
    """Bytes of the regular files under `roots` (links are not followed: the venv's python is a
    link to the base interpreter, which is not part of what this mode installs)."""
    total = 0
    for root in roots:
        for directory, _, files in os.walk(root):
            for name in files:
                path = Path(directory) / name
                if not path.is_symlink():
                    with contextlib.suppress(OSError):
                        total += path.stat().st_size
    return total


async def run_command(
    command: Sequence[str],
    log: BuildLog,
    *,
    what: str,
    seconds: float,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `command` in its own process group, its output into `log`; return stdout+stderr.

    Cancelling (the builder stops) or a timeout kills the whole group, so no pip is left behind.
    A non-zero exit raises BuildStepFailed with the output's tail.
    """
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(env) if env is not None else child_environment(),
        start_new_session=True,
        limit=OUTPUT_LINE_LIMIT,
    )
    output: deque[str] = deque(maxlen=2000)
    try:
        async with asyncio.timeout(seconds):
            assert process.stdout is not None
            async for raw in process.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                output.append(line)
                log.line(line)
            code = await process.wait()
    except TimeoutError:
        await _kill(process)
        tail = "\n".join(list(output)[-FAILURE_TAIL_LINES:])
        raise BuildStepFailed(f"{what} took longer than {seconds:g} s", tail) from None
    except BaseException:
        await _kill(process)
        raise
    if code != 0:
        tail = "\n".join(list(output)[-FAILURE_TAIL_LINES:])
        raise BuildStepFailed(f"{what} failed (exit code {code}): {_last_line(output)}", tail)
    return "\n".join(output)


async def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        await asyncio.shield(process.wait())


def _last_line(output: deque[str]) -> str:
    for line in reversed(output):
        if line.strip():
            return line.strip()
    return "no output"


def _safe_key(key: str) -> str:
    if not key or not all(c.isalnum() or c in "-_" for c in key):
        raise BuildStepFailed(f"the lock hash {key!r} cannot name a directory")
    return key


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
