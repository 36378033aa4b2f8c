"""The benchmark's own database and the catalog and gateway as real processes.

A database of its own on the shared Postgres (dropped and created by each run), the two
services started with `python -m modelbay_catalog` / `modelbay_gateway` as an operator would,
an in-process bus (nothing is published during the benchmark) and a throw-away blob directory.
Every process started here is stopped here, also when the run fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ADMIN = "bench-admin"
ADMIN_TOKEN = "bench-admin-token-0123456789abcdefghijklmnop"
HEALTH_BOUND_SECONDS = 120.0  # a hung start fails the run instead of hanging it


def plain_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(database_url: str, name: str) -> str:
    base, _, _ = database_url.rpartition("/")
    return f"{base}/{name}"


async def recreate_database(database_url: str, name: str) -> str:
    """Drop and create database `name` next to `database_url`'s; its SQLAlchemy URL."""
    admin = await asyncpg.connect(plain_dsn(with_database(database_url, "postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return with_database(database_url, name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Service:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


STALL_PROBE = Path(__file__).resolve().parent / "stall_probe"


def _environment(database_url: str, work_dir: Path) -> dict[str, str]:
    kept = {key: value for key, value in os.environ.items() if not key.startswith("MODELBAY_")}
    if os.environ.get("CATALOGBENCH_STALL_PROBE") == "1":
        # stall_probe/sitecustomize.py logs each process's long GC pauses and loop callbacks.
        path = os.environ.get("PYTHONPATH")
        kept["PYTHONPATH"] = f"{STALL_PROBE}:{path}" if path else str(STALL_PROBE)
        kept["CATALOGBENCH_STALL_DIR"] = str(work_dir)
    return {
        **kept,
        "MODELBAY_DATABASE_URL": database_url,
        "MODELBAY_BUS_URL": "memory://",
        "MODELBAY_BLOB_URL": (work_dir / "blobs").as_uri(),
        "MODELBAY_LOG_LEVEL": "WARNING",
        "MODELBAY_HTTP_HOST": "127.0.0.1",
        # The gateway signs its calls to the catalog (modelbay_common.internal_auth): one secret.
        "MODELBAY_INTERNAL_SECRET": secrets.token_hex(32),
        "PYTHONUNBUFFERED": "1",
    }


def _spawn(name: str, env: dict[str, str], port: int, work_dir: Path) -> Service:
    log_path = work_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", f"modelbay_{name}"],
            env={**env, f"MODELBAY_{name.upper()}_HTTP_PORT": str(port)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Service(name, port, process, log_path)


def _wait_healthy(service: Service) -> None:
    deadline = time.monotonic() + HEALTH_BOUND_SECONDS
    while True:
        if service.process.poll() is not None:
            tail = service.log_path.read_text()[-3000:]
            raise RuntimeError(f"{service.name} exited while starting:\n{tail}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(service.url + "/healthz", timeout=5) as answer,
        ):
            if answer.status == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service.name} did not answer {service.url}/healthz")
        time.sleep(0.3)


@contextlib.contextmanager
def running_services(database_url: str, work_dir: Path) -> Iterator[dict[str, Service]]:
    """The catalog and the gateway, healthy; stopped on the way out whatever happens."""
    work_dir.mkdir(parents=True, exist_ok=True)
    env = _environment(database_url, work_dir)
    started: dict[str, Service] = {}
    try:
        catalog = started["catalog"] = _spawn("catalog", env, free_port(), work_dir)
        _wait_healthy(catalog)
        gateway_env = {
            **env,
            "MODELBAY_GATEWAY_CATALOG_URL": catalog.url,
            # Never called during the benchmark; a closed port says so if one ever is.
            "MODELBAY_GATEWAY_ONBOARDING_URL": "http://127.0.0.1:9",
            "MODELBAY_GATEWAY_BUILDER_URL": "http://127.0.0.1:9",
            "MODELBAY_GATEWAY_ADMIN_USERNAME": ADMIN,
            "MODELBAY_GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        gateway = started["gateway"] = _spawn("gateway", gateway_env, free_port(), work_dir)
        _wait_healthy(gateway)
        yield started
    finally:
        for service in reversed(list(started.values())):
            service.stop()
