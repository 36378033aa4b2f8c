"""Try it: one call of a version's model, answered by a sandbox started on demand.

The platform keeps no model server running per version, so "Try it" on the model page (and
`POST /v1/models/{owner}/{name}/versions/{version}/try/{method}`) asks the builder, which holds
the Docker engine, to run the version's image exactly as validation does (`validation._start`):
no network, memory, CPU and pid limits, a read-only root, no capabilities. Because the container
has no network, the call goes in through `docker exec`, to the model server on the container's
own loopback, like the validation samples. The container is labelled like a validation container,
so the debris sweeper removes it if this builder dies.

A sandbox is kept `idle_seconds` after its last call: a person trying a few inputs waits for the
model to load once. At most `max_running` sandboxes run at a time (the least recently used one is
removed to make room), and a reaper removes idle ones, so a busy catalog cannot fill the host.

In local-process mode the builder already serves every ready version from a child process; the
call goes to that process's URL (`modelbay_common.refs.served_url`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from docker.models.containers import Container
from modelbay_common.refs import is_local_process_ref, served_url
from modelbay_common.scratch import owner_tag

from modelbay_builder.compare import Tolerance
from modelbay_builder.context import SERVER_PORT
from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.errors import ImageValidationFailed, TryNotPossible
from modelbay_builder.images import ImageExporter
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.validation import (
    PYTHON,
    ValidationLimits,
    _exec,
    _remove,
    _start,
    _wait_until_ready,
)

log = logging.getLogger(__name__)

# The largest request body passed into the sandbox (it travels as a `docker exec` argument).
MAX_TRY_BODY_BYTES = 64 * 1024
REAP_EVERY_SECONDS = 30.0

CALL_SCRIPT = f"""
import base64, json, sys, urllib.error, urllib.parse, urllib.request
method, payload, timeout = sys.argv[1], base64.b64decode(sys.argv[2]), float(sys.argv[3])
url = "http://127.0.0.1:{SERVER_PORT}/model/methods/" + urllib.parse.quote(method, safe="")
request = urllib.request.Request(url, data=payload, method="POST",
    headers={{"Content-Type": "application/json", "Accept": "application/json"}})
try:
    with urllib.request.urlopen(request, timeout=timeout) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as exc:
    status, body = exc.code, exc.read()
print(json.dumps({{"status": status, "body": body.decode("utf-8", "replace")}}))
"""


@dataclass(frozen=True)
class TryAnswer:
    """The model server's answer: its HTTP status and its body (JSON when it is JSON)."""

    status: int
    body: Any


@dataclass
class _Sandbox:
    container: Container
    last_used: float = field(default_factory=time.monotonic)


class TrySandboxes:
    """The running sandboxes, one per image, started on the first call and reaped when idle."""

    def __init__(
        self,
        docker: DockerConnection | None,
        exporter: ImageExporter,
        limits: ValidationLimits,
        *,
        idle_seconds: float = 300.0,
        max_running: int = 2,
    ) -> None:
        self._docker = docker
        self._exporter = exporter
        self._limits = limits
        self._idle_seconds = idle_seconds
        self._max_running = max_running
        self._running: dict[str, _Sandbox] = {}
        self._lock = asyncio.Lock()  # one sandbox starts at a time: two cores, shared
        self._reaper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever(), name="try-sandbox-reaper")

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for ref in list(self._running):
            await self._remove(ref)

    async def call(self, image_ref: str, method: str, payload: bytes) -> TryAnswer:
        if len(payload) > MAX_TRY_BODY_BYTES:
            raise TryNotPossible(f"the request body is over {MAX_TRY_BODY_BYTES} bytes")
        if is_local_process_ref(image_ref):
            return await self._call_local_process(image_ref, method, payload)
        sandbox = await self._sandbox_for(image_ref)
        sandbox.last_used = time.monotonic()
        command = [
            PYTHON,
            "-c",
            CALL_SCRIPT,
            method,
            base64.b64encode(payload).decode(),
            str(self._limits.sample_timeout),
        ]
        code, output = await asyncio.to_thread(_exec, sandbox.container, command)
        sandbox.last_used = time.monotonic()
        if code != 0:
            await self._remove(image_ref)  # a sandbox that cannot take a call is not kept
            raise TryNotPossible(f"the call did not reach the model server: {output[-300:]}")
        answer = json.loads(output)
        return TryAnswer(int(answer["status"]), _json_or_text(str(answer["body"])))

    async def _call_local_process(self, image_ref: str, method: str, payload: bytes) -> TryAnswer:
        url = f"{served_url(image_ref)}/model/methods/{method}"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        try:
            async with httpx.AsyncClient(timeout=self._limits.sample_timeout) as client:
                response = await client.post(url, content=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise TryNotPossible(f"the model's local process does not answer: {exc}") from exc
        return TryAnswer(response.status_code, _json_or_text(response.text))

    async def _sandbox_for(self, image_ref: str) -> _Sandbox:
        async with self._lock:
            found = self._running.get(image_ref)
            if found is not None:
                return found
            if self._docker is None:
                raise TryNotPossible("this builder runs no Docker engine")
            while len(self._running) >= self._max_running:
                oldest = min(self._running, key=lambda ref: self._running[ref].last_used)
                await self._remove(oldest)
            sandbox = _Sandbox(await asyncio.to_thread(self._start_sandbox, image_ref))
            self._running[image_ref] = sandbox
            return sandbox

    def _start_sandbox(self, image_ref: str) -> Container:
        assert self._docker is not None
        self._exporter.prepare(image_ref)  # pulled from the registry when the engine lacks it
        client = self._docker.client
        container = _start(client, image_ref, self._limits, label=f"try:{owner_tag()}")
        try:
            _wait_until_ready(container, self._limits.ready_timeout)
        except ImageValidationFailed as exc:
            _remove(container)
            raise TryNotPossible(f"the model server did not start: {exc.reason}") from exc
        except BaseException:
            _remove(container)
            raise
        log.info("try-it sandbox %s started for %s", container.name, image_ref)
        return container

    async def _remove(self, image_ref: str) -> None:
        sandbox = self._running.pop(image_ref, None)
        if sandbox is not None:
            await asyncio.to_thread(_remove, sandbox.container)

    async def reap_idle(self) -> list[str]:
        """Remove the sandboxes idle for longer than `idle_seconds`; their image refs."""
        now = time.monotonic()
        idle = [
            ref
            for ref, sandbox in self._running.items()
            if now - sandbox.last_used > self._idle_seconds
        ]
        async with self._lock:
            for ref in idle:
                await self._remove(ref)
        return idle

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(REAP_EVERY_SECONDS)
            try:
                await self.reap_idle()
            except Exception as exc:  # the engine hiccuped: try again next round
                log.warning("reaping try-it sandboxes failed: %s", exc)


def _json_or_text(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body


def try_sandboxes_for(
    settings: BuilderSettings, docker: DockerConnection | None, exporter: ImageExporter
) -> TrySandboxes:
    """The sandboxes with validation's limits (a tried model gets what a validated one got)."""
    limits = ValidationLimits(
        memory=settings.validation_memory_limit,
        cpus=settings.validation_cpus,
        ready_timeout=settings.validation_ready_timeout_seconds,
        sample_timeout=settings.validation_sample_timeout_seconds,
        tolerance=Tolerance(settings.float_relative_tolerance, settings.float_absolute_tolerance),
    )
    return TrySandboxes(docker, exporter, limits)
