"""A model server as a real process: `python -m modelbay_runtime serve <bundle>` on a free
loopback port, for tests that call it from outside Python's process (generated clients)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_model_server(bundle: Path, *args: str) -> Iterator[str]:
    """Yields the base URL once `/readyz` answers 200; stops the process on exit."""
    port = free_port()
    argv = [sys.executable, "-m", "modelbay_runtime", "serve", str(bundle)]
    argv += ["--host", "127.0.0.1", "--port", str(port), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_RUNTIME_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 120  # generous: the machine is shared; not an assertion
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"the model server exited early ({process.returncode}):\n{output}")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the model server did not become ready within 120 s")
