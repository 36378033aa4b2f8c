"""Issue 15: SIGTERM (what `docker stop`, systemd and Kubernetes send) stops cleanly, exit 0.

- A real `modelbay up` process (its embedded PostgreSQL in a private data directory) gets SIGTERM
  once it serves, and once while it is still starting: it exits 0 and no postmaster of its data
  directory is left running. Before the fix uvicorn re-raised SIGTERM with the default handler:
  the process died with status 143 and left the postmaster behind, one per stop.
- A real gateway process (`python -m modelbay_gateway` on the shared Postgres, in a database of
  its own, and RabbitMQ) is stopped mid-work, with a server-sent event stream open (a response
  that never ends by itself): it exits 0 within the bounded grace, and the stream is closed.

Waits are bounded guards against a hung test, never assertions on speed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from modelbay_common.embedded_pg import find_free_port

REPO = Path(__file__).resolve().parents[2]
MODELBAY = Path(sys.executable).parent / "modelbay"
START_GUARD_SECONDS = 240.0
STOP_GUARD_SECONDS = 90.0
ADMIN_TOKEN = "sigterm-admin-token-0123456789abcdef"


def postmaster_pids(pgdata: Path) -> list[int]:
    """Processes whose command line names `pgdata` (the postmaster is `postgres -D <pgdata>`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(pgdata) in cmdline and "postgres" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Outside pytest's tmp_path: the server runs as another user when we are root.
    root = Path(tempfile.mkdtemp(prefix="modelbay-sigterm-"))
    os.chmod(root, 0o755)
    yield root
    pgdata = root / "postgres" / "pgdata"
    for pid in postmaster_pids(pgdata):  # never leave one behind, even when the test failed
        os.kill(pid, signal.SIGQUIT)
    shutil.rmtree(root, ignore_errors=True)


def start_up(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    command = [str(MODELBAY), "up", "--data-dir", str(data_dir), "--port", str(port)]
    return subprocess.Popen(
        [*command, "--no-docker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )


def wait_until(condition: object, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_GUARD_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, output_of(process)
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"not started within the guard: {output_of(process)}")


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def output_of(process: subprocess.Popen[bytes]) -> str:
    if process.poll() is None or process.stdout is None:
        return "(still running)"
    return process.stdout.read().decode(errors="replace")[-3000:]


def terminate(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_GUARD_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the process did not stop within the guard") from None


def test_modelbay_up_stops_on_sigterm_with_its_postgres(data_dir: Path) -> None:
    port = find_free_port()
    process = start_up(data_dir, port)
    wait_until(lambda: ready(port), process)
    pgdata = data_dir / "postgres" / "pgdata"
    assert postmaster_pids(pgdata), "the embedded PostgreSQL should be running"

    assert terminate(process) == 0, output_of(process)
    assert postmaster_pids(pgdata) == []
    assert not (pgdata / "postmaster.pid").exists()
    assert "Modelbay stopped" in output_of(process)


def test_modelbay_up_stops_on_sigterm_while_starting(data_dir: Path) -> None:
    port = find_free_port()
    process = start_up(data_dir, port)
    pgdata = data_dir / "postgres" / "pgdata"
    wait_until(lambda: (pgdata / "postmaster.pid").exists(), process)

    assert terminate(process) == 0, output_of(process)
    assert postmaster_pids(pgdata) == []
    assert not (pgdata / "postmaster.pid").exists()


def test_a_service_process_stops_mid_stream_on_sigterm(
    fresh_database_url: str, amqp_url: str, tmp_path: Path
) -> None:
    port = find_free_port()
    env = {
        **os.environ,
        "MODELBAY_DATABASE_URL": fresh_database_url,
        "MODELBAY_BUS_URL": amqp_url,
        "MODELBAY_BLOB_URL": (tmp_path / "blobs").as_uri(),
        "MODELBAY_GATEWAY_HTTP_PORT": str(port),
        "MODELBAY_GATEWAY_ADMIN_USERNAME": "root",
        "MODELBAY_GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
        "MODELBAY_GATEWAY_CONSUMER_NAME": f"gateway.sigterm-{port}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "modelbay_gateway"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    wait_until(lambda: ready(port), process)

    stream_ended = threading.Event()
    stream_opened = threading.Event()

    def follow_events() -> None:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        url = f"http://127.0.0.1:{port}/v1/events"
        try:
            with httpx.stream("GET", url, headers=headers, timeout=None) as response:
                assert response.status_code == 200
                stream_opened.set()
                for _ in response.iter_lines():
                    pass
        except httpx.HTTPError:
            pass  # the server closed it: what a shutdown does to a stream
        finally:
            stream_ended.set()

    follower = threading.Thread(target=follow_events, daemon=True)
    follower.start()
    assert stream_opened.wait(timeout=30), "the event stream did not open"

    assert terminate(process) == 0, output_of(process)
    assert stream_ended.wait(timeout=30), "the event stream stayed open after the exit"
