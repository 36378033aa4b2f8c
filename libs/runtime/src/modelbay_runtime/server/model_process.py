"""Calling the model in a process of its own (the serving side; the other is model_worker.py).

`ProcessRunner` starts `python -m modelbay_runtime.server.model_worker` over a socket pair,
waits for the model's shape, and then sends it calls: a request's payload, or a batcher's
merged payload, pickled; answers come back on the event loop through an asyncio protocol, so
the loop never blocks and never shares a GIL with the model. Calls are numbered, so several may
be in flight (one per method's batcher, plus unbatched calls).

When to use it (`model_process = auto`, `model_spawn.use_model_process`): for pickled Python
models on a machine with at least two usable cores. ONNX models stay in the serving process:
onnxruntime releases the GIL while it runs, so a thread already overlaps with the loop. How it
is started (as early as `serve` can, for the cold start): `model_spawn.py`.

If the worker dies while serving (killed by the kernel's OOM killer, a crash in a native
library), every call in flight is answered 503 `model-failed`, later ones too, and the server
stops and exits with status 4 naming the cause (`load_failure.report_death_and_stop`), as a
model that cannot load exits with 3.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import signal
import subprocess
from collections.abc import Callable
from typing import Any, cast

from modelbay_runtime.server.model import ServableMethod
from modelbay_runtime.server.model_spawn import adopt_prestarted, spawn
from modelbay_runtime.server.model_worker import HEADER, encode_frame
from modelbay_runtime.server.problem import ProblemError
from modelbay_runtime.server.remote_model import RemoteModel, model_from_shell
from modelbay_runtime.server.settings import RuntimeSettings

log = logging.getLogger("modelbay_runtime.server")
STOP_TIMEOUT_S = 10.0


class ModelCallFailed(Exception):
    """A merged (unguarded) call raised in the model process; the text names the exception."""


class ModelProcessDied(Exception):
    pass


def died_problem() -> ProblemError:
    return ProblemError(
        503, "model-failed", "Model failed", "The model process stopped; see the server log."
    )


class _Channel(asyncio.Protocol):
    """Reads length-prefixed pickled frames off the socket and hands each to `on_frame`."""

    def __init__(self, on_frame: Callable[[Any], None], on_lost: Callable[[], None]) -> None:
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but they implement it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= HEADER.size:
            size = HEADER.unpack_from(buffer)[0]
            end = HEADER.size + size
            if len(buffer) < end:
                break
            message = pickle.loads(memoryview(buffer)[HEADER.size : end])
            del buffer[:end]
            self._on_frame(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost()


class ProcessRunner:
    """The `invoke.Runner` of a server whose model runs in a model process."""

    def __init__(self, settings: RuntimeSettings, on_death: Callable[[str], None]) -> None:
        self._settings = settings
        self._on_death = on_death
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: _Channel | None = None
        self._pending: dict[int, asyncio.Future[tuple[str, Any]]] = {}
        self._next_id = 0
        self._handshake: asyncio.Future[tuple[str, Any]] | None = None
        self._death_note: str | None = None
        self._closing = False
        self._dead = False
        self._serving = False  # the model loaded: from then on, an exit is a death

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> RemoteModel:
        """Start the worker (or adopt the one `prestart` started) and wait until it has loaded
        the model (or failed to)."""
        loop = asyncio.get_running_loop()
        started = adopt_prestarted(self._settings)
        if started is None:
            # In a thread: starting a process (fork + exec) would block the loop meanwhile.
            started = await asyncio.to_thread(spawn, self._settings)
        self._process, ours = started
        self._handshake = loop.create_future()
        _, self._channel = await loop.create_unix_connection(
            lambda: _Channel(self._on_frame, self._on_lost), sock=ours
        )
        status, value = await self._handshake
        if status == "failed":
            await self._reap()
            raise ModelLoadFailedElsewhere(str(value))
        log.info("model process %d serves the model", self._process.pid)
        return model_from_shell(value)

    async def call(self, method: ServableMethod, payload: dict[str, Any]) -> dict[str, Any]:
        status, value = await self._send(method.name, payload, guarded=True)
        if status == "problem":
            status_code, kind, title, detail, field, headers, extra = value
            raise ProblemError(
                status_code, kind, title, detail, field=field, headers=headers, extra=extra
            )
        result: dict[str, Any] = value
        return result

    async def call_raw(self, method: ServableMethod, payload: dict[str, Any]) -> Any:
        status, value = await self._send(method.name, payload, guarded=False)
        if status == "raised":
            raise ModelCallFailed(value)
        return value

    async def _send(self, name: str, payload: dict[str, Any], *, guarded: bool) -> tuple[str, Any]:
        if self._dead or self._channel is None or self._channel.transport is None:
            raise died_problem()
        self._next_id += 1
        call_id = self._next_id
        future: asyncio.Future[tuple[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        self._channel.transport.write(encode_frame((call_id, name, payload, guarded)))
        try:
            return await future
        finally:
            self._pending.pop(call_id, None)

    def _on_frame(self, message: Any) -> None:
        if isinstance(message[0], int):
            future = self._pending.get(message[0])
            if future is not None and not future.done():
                future.set_result((message[1], message[2]))
        elif message[0] in ("ready", "failed"):
            self._serving = message[0] == "ready"
            if self._handshake is not None and not self._handshake.done():
                self._handshake.set_result((message[0], message[1]))
        elif message[0] == "died":
            self._death_note = str(message[1])

    def _on_lost(self) -> None:
        self._dead = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(died_problem())
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_result(("failed", "the model process exited while loading"))
        if self._serving and not self._closing:
            asyncio.get_running_loop().create_task(self._report_death(), name="model-died")

    async def _report_death(self) -> None:
        returncode = await self._reap()
        cause = self._death_note or _exit_description(returncode)
        log.error("the model process stopped while serving: %s", cause)
        self._on_death(cause)

    async def _reap(self) -> int | None:
        if self._process is None:
            return None
        process = self._process
        try:
            return await asyncio.to_thread(process.wait, STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            return await asyncio.to_thread(process.wait)

    async def close(self) -> None:
        """Close the socket (the worker exits when it sees that) and wait for the worker."""
        self._closing = True
        if self._channel is not None and self._channel.transport is not None:
            self._channel.transport.close()
        if not self._serving and self._process is not None:
            self._process.kill()  # still loading: it would not read the socket until it is done
        await self._reap()


class ModelLoadFailedElsewhere(Exception):
    """The model process could not load the model; the message is the root cause it reported
    (`Type: message`), already in the form `load_failure.root_cause` gives."""


def _exit_description(returncode: int | None) -> str:
    if returncode is None:
        return "the model process stopped"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        oom = " (the kernel's OOM killer sends it when memory runs out)"
        hint = oom if name == "SIGKILL" else ""
        return f"the model process was killed by {name}{hint}"
    return f"the model process exited with status {returncode}"
