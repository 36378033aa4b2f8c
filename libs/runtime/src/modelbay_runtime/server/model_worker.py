"""The model process: loads the bundle and calls the model for the serving process.

    python -m modelbay_runtime.server.model_worker FD BUNDLE_DIR THREADS

Started by `model_process.ProcessRunner` with one end of a socket pair as file descriptor FD.
Why a process: a Python model (scikit-learn's forest walks its trees in Python) holds the GIL
for most of a call, and so does the event loop parsing HTTP; in one process they take turns on
one core. Here the model has its own interpreter, its own GIL and the second core
(docs/runtime.md "Model process").

Frames both ways are a 4-byte big-endian length and a pickle. The worker first answers
`("ready", shell)` (the model's shape, `remote_model.shell_of`) or `("failed", cause)`; then,
for each `(call_id, method, payload, guarded)`, `(call_id, "ok", result)`,
`(call_id, "problem", problem fields)` (bad input → 4xx naming the field; the model raised →
generic 500, traceback logged here) or, for unguarded merged calls, `(call_id, "raised", text)`.
An error of the worker itself is sent as `("died", cause)` before it exits.

The worker ignores SIGINT and SIGTERM: a stop signal sent to the whole process group (Ctrl-C,
`kill -- -PGID`) must let the serving process finish its in-flight requests, which need this
process. It exits when the serving process closes its end of the socket (or dies).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import signal
import socket
import struct
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

HEADER = struct.Struct(">I")
FrameWriter = Callable[[Any], None]

log = logging.getLogger("modelbay_runtime.server.model_worker")


def encode_frame(message: Any) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = sock.recv(missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def read_frame(sock: socket.socket) -> Any:
    """The next message, or None once the other end has closed."""
    header = _read_exactly(sock, HEADER.size)
    if header is None:
        return None
    body = _read_exactly(sock, HEADER.unpack(header)[0])
    return None if body is None else pickle.loads(body)


def answer(method: Any, payload: dict[str, Any], guarded: bool) -> tuple[str, Any]:
    """Call `method` as the server's threads would (invoke.guarded_call) and say how it went."""
    from modelbay_runtime.server.invoke import guarded_call
    from modelbay_runtime.server.problem import ProblemError

    if not guarded:
        try:
            return "ok", method.call(payload)
        except Exception as exc:  # the batcher retries the merged requests one by one
            return "raised", f"{type(exc).__name__}: {exc}"
    try:
        return "ok", guarded_call(method, payload)
    except ProblemError as problem:
        fields = (problem.status, problem.kind, problem.title, problem.detail, problem.field)
        return "problem", (*fields, problem.headers, problem.extra)


def serve_calls(sock: socket.socket, methods: dict[str, Any], threads: int) -> None:
    """Answer calls until the serving process closes the socket."""
    lock = threading.Lock()

    def write(message: Any) -> None:
        frame = encode_frame(message)
        with lock:
            sock.sendall(frame)

    def run(call_id: int, name: str, payload: dict[str, Any], guarded: bool) -> None:
        status, value = answer(methods[name], payload, guarded)
        write((call_id, status, value))

    if threads <= 1:  # the model is never called concurrently, as with one model thread
        while (request := read_frame(sock)) is not None:
            run(*request)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="model") as pool:
        while (request := read_frame(sock)) is not None:
            pool.submit(run, *request)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    fd, bundle_dir, threads = int(argv[0]), argv[1], int(argv[2])
    logging.basicConfig(
        level=os.environ.get("MODELBAY_RUNTIME_LOG_LEVEL", "info").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sock = socket.socket(fileno=fd)
    # Loading is almost all importing (the model's stack, then the pickle's classes): objects
    # that live as long as the process, which the cyclic collector would walk again and again
    # for nothing — off while loading, it saves about a tenth of the load's CPU (a cold start's
    # critical path, docs/runtime.md "Cold start"). Afterwards the loaded objects are frozen
    # rather than collected: the first collection after `enable` would walk all ~175,000 of
    # them (0.08-0.1 s, before the "ready" frame) to find under a thousand unreachable ones
    # (iris), which stay. Frozen objects are never walked again, which also spares the calls.
    gc.disable()
    from modelbay_runtime.server.load_failure import EXIT_MODEL_LOAD_FAILED, root_cause
    from modelbay_runtime.server.remote_model import shell_of

    try:
        from modelbay_runtime.loader import load_bundle

        model = load_bundle(bundle_dir)
        shell = shell_of(model)
    except Exception as exc:
        log.exception("the model could not be loaded")
        with contextlib.suppress(OSError):  # the serving process may be gone already
            sock.sendall(encode_frame(("failed", root_cause(exc))))
        return EXIT_MODEL_LOAD_FAILED
    finally:
        gc.freeze()
        gc.enable()
    try:
        sock.sendall(encode_frame(("ready", shell)))
    except OSError:
        return 0  # the serving process is gone already (it could not start, e.g. port taken)
    try:
        serve_calls(sock, dict(model.methods), threads)
    except BaseException as exc:
        log.exception("the model process failed")
        with contextlib.suppress(OSError):  # the serving process may be gone already
            sock.sendall(encode_frame(("died", root_cause(exc))))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
