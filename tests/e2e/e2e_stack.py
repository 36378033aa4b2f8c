"""Start the four Modelbay services as processes against the real backing services.

Stack mode as an operator runs it: each service is `python -m modelbay_<service>` with its
configuration in environment variables only, on a free loopback port, sharing one fresh
Postgres database (each service migrates its own schema at start-up), a RabbitMQ virtual host
of its own, an S3 prefix of its own, the registry and the Docker engine.

Why a vhost and a prefix per stack: several engineers run tests on the same broker and S3 at
the same time, and the services' queue names (`catalog.versions`, ...) are fixed; in a shared
vhost another run's catalog would consume this run's events. The vhost is made with
`rabbitmqctl` (RabbitMQ's own tool, on this machine with the broker).

No pytest here: `tests/e2e/conftest.py` and `bench/pipeline` both use this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

SERVICE_NAMES = ("onboarding", "catalog", "builder", "gateway")
HEALTH_BOUND_SECONDS = 180.0
STOP_GRACE_SECONDS = 20.0
START_HINT = "Start the services with `make services-up`."


class StackError(RuntimeError):
    """A service or backing service could not be started; the message says which and why."""


@dataclass(frozen=True)
class Backends:
    """Where the real backing services answer (from var/services.env)."""

    database_url: str  # postgresql+asyncpg://... of the server's main database
    amqp_url: str
    blob_url: str  # s3://KEY:SECRET@host:port/bucket?...
    registry: str
    base_image: str
    docker_host: str
    registry_token_key_file: str | None = None  # the registry's token key (docs/trust.md)


@dataclass(frozen=True)
class StackOptions:
    """What a test run or a benchmark changes about the services."""

    max_upload_bytes: int = 2 * 1024**3
    pip_cache_dir: Path | None = None  # None: pip's default cache
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # Ports fixed in advance (service name → port), e.g. the gateway's when a private token
    # registry must name it as its realm before the stack starts; others get a free port.
    ports: Mapping[str, int] = field(default_factory=dict)


def free_port() -> int:
    """A port nothing listens on right now (the kernel picks it; loopback only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def admin_dsn(database_url: str) -> str:
    """asyncpg's DSN for the same server and database (no SQLAlchemy driver suffix)."""
    parts = urlsplit(database_url)
    return f"postgresql://{parts.netloc}{parts.path}"


def sibling_database(database_url: str, name: str) -> str:
    return database_url.rsplit("/", 1)[0] + f"/{name}"


async def create_database(database_url: str) -> str:
    """A new, uniquely named database on the same server; returns its URL."""
    import asyncpg

    name = f"e2e_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(admin_dsn(database_url))
    except (OSError, asyncpg.PostgresError) as exc:
        raise StackError(f"PostgreSQL is not reachable ({exc}). {START_HINT}") from exc
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return sibling_database(database_url, name)


async def drop_database(database_url: str, url: str) -> None:
    import asyncpg

    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(admin_dsn(database_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _rabbitmqctl(*args: str) -> None:
    try:
        subprocess.run(
            ["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError as exc:
        raise StackError(
            f"rabbitmqctl is not installed: RabbitMQ is missing. {START_HINT}"
        ) from exc
    except subprocess.CalledProcessError as exc:
        raise StackError(
            f"RabbitMQ refused `rabbitmqctl {' '.join(args)}`: {exc.stderr.strip()}. {START_HINT}"
        ) from exc


def create_vhost(amqp_url: str, vhost: str) -> str:
    """A RabbitMQ virtual host for one stack, the URL's user allowed everything in it."""
    user = urlsplit(amqp_url).username or "guest"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    parts = urlsplit(amqp_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))


def delete_vhost(vhost: str) -> None:
    with contextlib.suppress(StackError):
        _rabbitmqctl("delete_vhost", vhost)


def with_blob_prefix(blob_url: str, prefix: str) -> str:
    """`s3://k:s@h/bucket?q` → `s3://k:s@h/bucket/<prefix>?q` (docs/services.md, blob URL)."""
    parts = urlsplit(blob_url)
    path = parts.path.rstrip("/") + "/" + prefix.strip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


@dataclass
class ServiceProcess:
    """One service running as `python -m modelbay_<name>` in its own process group."""

    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        """SIGTERM to the whole group (uvicorn, pip, docker clients), then SIGKILL."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@dataclass
class Stack:
    """The running services and what a client needs to talk to them."""

    backends: Backends
    database_url: str
    bus_url: str
    vhost: str
    blob_url: str
    blob_prefix: str
    admin_username: str
    admin_token: str
    work_dir: Path
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    # Shared by the services of this stack: the gateway signs its internal calls with it and
    # the others verify (modelbay_common.internal_auth); unset, each process would pick its own.
    internal_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def gateway_url(self) -> str:
        return self.processes["gateway"].url

    def logs(self, lines: int = 60) -> str:
        """Every service's last log lines, for failure messages."""
        return "\n".join(
            f"----- {name} ({proc.log_path}) -----\n{proc.log_tail(lines)}"
            for name, proc in self.processes.items()
        )

    def stop(self) -> None:
        # The gateway first: it is the only caller of the others.
        for name in reversed(list(self.processes)):
            self.processes[name].stop()


def _base_env() -> dict[str, str]:
    """The caller's environment without any MODELBAY_* setting: only ours configure a service."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}


def service_env(
    stack: Stack, name: str, port: int, ports: Mapping[str, int], options: StackOptions
) -> dict[str, str]:
    prefix = f"MODELBAY_{name.upper()}_"
    env = {
        **_base_env(),
        "MODELBAY_DATABASE_URL": stack.database_url,
        "MODELBAY_BUS_URL": stack.bus_url,
        "MODELBAY_BLOB_URL": stack.blob_url,
        "MODELBAY_LOG_JSON": "false",  # people read these logs when a test fails
        "MODELBAY_INTERNAL_SECRET": stack.internal_secret,
        "MODELBAY_HTTP_HOST": "127.0.0.1",
        prefix + "HTTP_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    if name == "onboarding":
        env[prefix + "MAX_UPLOAD_BYTES"] = str(options.max_upload_bytes)
        if options.pip_cache_dir is not None:
            env[prefix + "PIP_CACHE_DIR"] = str(options.pip_cache_dir)
        # A pre-built image pushed by reference must be in the builder's registry.
        env[prefix + "REGISTRY"] = stack.backends.registry
    if name == "builder":
        env[prefix + "REGISTRY"] = stack.backends.registry
        env[prefix + "BASE_IMAGE"] = stack.backends.base_image
        env[prefix + "DOCKER_HOST"] = stack.backends.docker_host
        env[prefix + "WORK_DIR"] = str(stack.work_dir / "builder")
        # Mirrors (federation) fetch a peer's token from this stack's catalog.
        env[prefix + "CATALOG_URL"] = f"http://127.0.0.1:{ports['catalog']}"
    if name in ("builder", "gateway"):
        # The builder signs with the key it generates here; the gateway publishes it at
        # /v1/keys, which `modelbay pull/run/deploy` verify against (docs/trust.md).
        env[prefix + "SIGNING_KEY_DIR"] = str(stack.work_dir / "signing")
    if name in ("builder", "gateway") and stack.backends.registry_token_key_file:
        env[prefix + "REGISTRY_TOKEN_KEY_FILE"] = stack.backends.registry_token_key_file
    if name == "gateway":
        for other in ("onboarding", "catalog", "builder"):
            env[f"{prefix}{other.upper()}_URL"] = f"http://127.0.0.1:{ports[other]}"
        env[prefix + "ADMIN_USERNAME"] = stack.admin_username
        env[prefix + "ADMIN_TOKEN"] = stack.admin_token
        env[prefix + "MAX_UPLOAD_BYTES"] = str(options.max_upload_bytes)
    env.update(options.extra_env)
    return env


def spawn(name: str, env: Mapping[str, str], port: int, log_dir: Path) -> ServiceProcess:
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", f"modelbay_{name}"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    return ServiceProcess(name, port, log_path, process)


async def wait_healthy(proc: ServiceProcess, bound: float = HEALTH_BOUND_SECONDS) -> None:
    """Until `/healthz` answers 200; fails at once if the process exits. The bound only stops
    a hung start."""
    deadline = time.monotonic() + bound
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            if proc.process.poll() is not None:
                raise StackError(
                    f"{proc.name} exited with {proc.process.returncode} while starting:\n"
                    f"{proc.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(proc.url + "/healthz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{proc.name} did not answer {proc.url}/healthz:\n{proc.log_tail()}"
                )
            await asyncio.sleep(0.3)


async def start_stack(
    backends: Backends, work_dir: Path, options: StackOptions | None = None
) -> Stack:
    """Fresh database, vhost and blob prefix; the four services started and healthy.

    On failure everything started so far is stopped and the error carries the logs."""
    options = options or StackOptions()
    import secrets

    run_id = uuid.uuid4().hex[:10]
    await asyncio.to_thread(work_dir.mkdir, parents=True, exist_ok=True)
    database_url = await create_database(backends.database_url)
    vhost = f"modelbay-e2e-{run_id}"
    blob_prefix = f"e2e-{run_id}"
    stack = Stack(
        backends=backends,
        database_url=database_url,
        bus_url="",
        vhost=vhost,
        blob_url=with_blob_prefix(backends.blob_url, blob_prefix),
        blob_prefix=blob_prefix,
        admin_username="admin",
        admin_token=secrets.token_urlsafe(32),
        work_dir=work_dir,
    )
    try:
        stack.bus_url = await asyncio.to_thread(create_vhost, backends.amqp_url, vhost)
        ports = {name: options.ports.get(name) or free_port() for name in SERVICE_NAMES}
        for name in SERVICE_NAMES:
            env = service_env(stack, name, ports[name], ports, options)
            stack.processes[name] = spawn(name, env, ports[name], work_dir)
        for name in SERVICE_NAMES:
            await wait_healthy(stack.processes[name])
    except BaseException:
        await stop_stack(stack)
        raise
    return stack


async def stop_stack(stack: Stack) -> None:
    """Stop the processes, then drop the database and the vhost (objects under the S3 prefix
    stay: moto keeps them in memory only, and they help a post-mortem)."""
    await asyncio.to_thread(stack.stop)
    with contextlib.suppress(Exception):
        await drop_database(stack.backends.database_url, stack.database_url)
    if stack.bus_url:
        await asyncio.to_thread(delete_vhost, stack.vhost)
