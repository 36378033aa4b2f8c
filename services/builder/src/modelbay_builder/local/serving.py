"""Model servers as child processes of the builder (the local-process mode).

Each server is `<venv>/bin/python -m modelbay_runtime serve <bundle> --host 127.0.0.1 --port P`
started in its own session (so its process group can be stopped as a whole, uvicorn workers
included), with its output in `<models>/<owner>/<name>/<version>.log`. Once a version has been
validated, a record `<version>.json` beside its bundle says how to start it again: the builder
restarts every recorded server when it starts (on the same port when that port is free), so a
`ready` version keeps answering after `modelbay up` is restarted. Servers stop with the builder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from modelbay_builder.compare import Tolerance, check_sample_answer
from modelbay_builder.errors import ImageValidationFailed
from modelbay_builder.failure_reason import server_exit_reason
from modelbay_builder.local.env import READY_MARKER, LocalEnvironment
from modelbay_builder.local.refs import LOCAL_HOST

log = logging.getLogger(__name__)

HOST = LOCAL_HOST
STOP_GRACE_SECONDS = 10.0
LOG_TAIL_LINES = 50


@dataclass(frozen=True)
class ServingRecord:
    """How one validated version is served; stored as JSON beside its bundle."""

    owner: str
    name: str
    version: int
    bundle_dir: str
    venv: str
    runtime: str
    port: int
    pid: int

    @property
    def subject(self) -> str:
        return f"{self.owner}/{self.name}/{self.version}"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass
class ModelProcess:
    subject: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = self.log_path.read_text("utf-8", "replace").splitlines()
            return "\n".join(lines[-LOG_TAIL_LINES:])
        return ""


def free_port() -> int:
    """A port nobody listens on now (the server binds it a moment later; a lost race shows as
    an exit with 'address already in use', which the caller retries on another port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether the server could bind `port`: like uvicorn, with SO_REUSEADDR, so connections of
    a stopped server still in TIME_WAIT do not count as taking it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


class ModelProcesses:
    """The model servers this builder runs, by subject (`owner/name/version`)."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._running: dict[str, ModelProcess] = {}

    def bundle_dir(self, owner: str, name: str, version: int) -> Path:
        return self.models_dir / owner / name / str(version)

    def get(self, subject: str) -> ModelProcess | None:
        return self._running.get(subject)

    @property
    def running(self) -> dict[str, ModelProcess]:
        return dict(self._running)

    async def start(
        self, subject: str, bundle_dir: Path, environment: LocalEnvironment, port: int
    ) -> ModelProcess:
        """Start the server of `subject` (stopping an earlier one of the same subject first)."""
        await self.stop(subject)
        log_path = bundle_dir.with_name(f"{bundle_dir.name}.log")
        command = [
            str(environment.python), "-m", "modelbay_runtime", "serve", str(bundle_dir),
            "--host", HOST, "--port", str(port),
        ]  # fmt: skip

        def spawn() -> subprocess.Popen[bytes]:
            with log_path.open("ab") as output:
                return subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env=environment.server_environment(),
                    cwd=bundle_dir,
                    start_new_session=True,  # its own process group: stopped as a whole
                )

        process = ModelProcess(subject, port, await asyncio.to_thread(spawn), log_path)
        self._running[subject] = process
        pid = process.process.pid
        log.info("started the model server of %s (pid %d) on port %d", subject, pid, port)
        return process

    async def wait_until_ready(self, process: ModelProcess, within_seconds: float) -> None:
        """Poll `/readyz` until 200; ImageValidationFailed if the server exits or takes too long."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_seconds
        async with httpx.AsyncClient(base_url=process.url, timeout=2.0) as client:
            while True:
                code = process.process.poll()
                if code is not None:
                    log_tail = process.log_tail()
                    reason = server_exit_reason(code, log_tail)
                    raise ImageValidationFailed(reason, log_tail=log_tail)
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/readyz")).status_code == 200:
                        return
                if loop.time() > deadline:
                    raise ImageValidationFailed(
                        f"the model server did not become ready within {within_seconds:g} s",
                        log_tail=process.log_tail(),
                    )
                await asyncio.sleep(0.2)

    async def stop(self, subject: str) -> None:
        process = self._running.pop(subject, None)
        if process is not None:
            await asyncio.to_thread(_terminate, process.process)
            log.info("stopped the model server of %s", subject)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(subject) for subject in list(self._running)))

    # Records of validated versions, for restarts.

    def save_record(self, record: ServingRecord) -> None:
        path = self._record_path(record.owner, record.name, record.version)
        staging = path.with_suffix(".json.partial")
        staging.write_text(json.dumps(asdict(record), indent=2), encoding="utf-8")
        staging.replace(path)

    def records(self) -> list[ServingRecord]:
        found = []
        for path in sorted(self.models_dir.glob("*/*/*.json")):
            try:
                found.append(ServingRecord(**json.loads(path.read_text("utf-8"))))
            except (OSError, ValueError, TypeError):
                log.warning("ignoring the unreadable serving record %s", path)
        return found

    def _record_path(self, owner: str, name: str, version: int) -> Path:
        return self.models_dir / owner / name / f"{version}.json"


def restorable(record: ServingRecord) -> LocalEnvironment | None:
    """The environment of a recorded server, if its venv, runtime and bundle are all still there."""
    venv, runtime = Path(record.venv), Path(record.runtime)
    if not (venv / READY_MARKER).is_file() or not (runtime / READY_MARKER).is_file():
        return None
    if not Path(record.bundle_dir).is_dir():
        return None
    return LocalEnvironment(venv=venv, runtime=runtime, reused=True)


def kill_leftover(record: ServingRecord) -> None:
    """A builder that was killed (not stopped) leaves its servers running: stop the one that
    serves this record's bundle, recognised by its command line, before starting it again."""
    try:
        cmdline = Path(f"/proc/{record.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if b"modelbay_runtime" in cmdline and record.bundle_dir.encode() in cmdline:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pid, signal.SIGKILL)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (uvicorn shuts down cleanly), SIGKILL if it lingers."""
    if process.poll() is not None:
        # The leader is gone; anything it started in its group goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def check_samples(
    process: ModelProcess,
    manifest: Mapping[str, Any],
    tolerance: Tolerance,
    sample_timeout: float,
) -> int:
    """POST every recorded sample input to the server; ImageValidationFailed on the first
    answer that is not a 200 or differs from the recorded output. Returns how many matched."""
    samples: Mapping[str, Any] = manifest.get("samples") or {}
    checked = 0
    async with httpx.AsyncClient(base_url=process.url, timeout=sample_timeout) as client:
        for method in sorted(samples):
            for index, sample in enumerate(samples[method]):
                status, actual = await _call(client, method, sample["input"])
                check_sample_answer(
                    method, index, status, actual, sample["output"], tolerance, process.log_tail
                )
                checked += 1
    return checked


async def _call(client: httpx.AsyncClient, method: str, body: Any) -> tuple[int, Any]:
    try:
        response = await client.post(
            f"/model/methods/{quote(method, safe='')}",
            json=body,
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        return 0, repr(exc)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text
