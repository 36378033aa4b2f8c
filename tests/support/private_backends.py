"""A private PostgreSQL and a private RabbitMQ, on their own ports and dirs, for the tests that
stop or restart them (the fault suite in tests/chaos, the broker readiness test).

The fault suite restarts Postgres and RabbitMQ; the shared ones (`make services-up`) serve
other engineers' tests and must never be restarted. So each run starts its own server of each
from the Debian packages already installed (`postgresql-15`, `rabbitmq-server`), as their
system users (neither runs as root), with data under a temporary directory, listening on
127.0.0.1 only. Both are children of the test process; `stop()` ends them and nothing else.

No pytest here: tests/chaos/conftest.py and tests/integration/test_health_wedges_and_broker.py
use this module.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
START_BOUND_SECONDS = 120.0  # a guard against a hung start on a loaded machine, not a speed test


class BackendError(RuntimeError):
    """A private backing service could not be started; the message carries its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs)]:
            os.chown(name, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def _as_user(user: str) -> list[str]:
    """Run as `user` when we are root (the CI and these machines); as ourselves otherwise."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


@dataclass
class _Child:
    """One server process in a process group of its own (so it is stopped with its children)."""

    name: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def spawn(self, argv: list[str], env: dict[str, str]) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def signal_group(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def wait(self, bound: float = 60.0) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.process.wait(timeout=30)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None


@dataclass
class PrivatePostgres:
    """`postgres -D <dir>` on its own port; trust authentication on loopback for `postgres`."""

    root: Path
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self._child = _Child("postgres", self.root / "postgres.log")

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        if not (POSTGRES_BIN / "postgres").exists():
            raise BackendError(f"{POSTGRES_BIN}/postgres is missing: run `make setup`")
        if not self.data.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            self.socket_dir.mkdir(exist_ok=True)
            _chown_tree(self.root, "postgres")
            subprocess.run(
                [
                    *_as_user("postgres"),
                    str(POSTGRES_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",  # a throw-away cluster: durability of initdb itself is moot
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
        argv = [
            *_as_user("postgres"),
            str(POSTGRES_BIN / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.socket_dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=200",
        ]
        self._child.spawn(argv, dict(os.environ))
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_BOUND_SECONDS
        while time.monotonic() < deadline:
            if self._child.exited():
                raise BackendError(f"private postgres exited:\n{self._child.log_tail()}")
            ready = subprocess.run(
                [str(POSTGRES_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.3)
        raise BackendError(
            f"private postgres did not accept connections:\n{self._child.log_tail()}"
        )

    def log_tail(self) -> str:
        return f"----- private postgres ({self._child.log_path}) -----\n{self._child.log_tail()}"

    def crash_and_restart(self) -> None:
        """Immediate shutdown (SIGQUIT: no checkpoint, crash recovery at the next start), then
        start again on the same port and data directory."""
        self._child.signal_group(signal.SIGQUIT)
        self._child.wait()
        self._child.spawn(self._argv_again(), dict(os.environ))
        self._wait_ready()

    def _argv_again(self) -> list[str]:
        assert self._child.process is not None
        argv = self._child.process.args
        assert isinstance(argv, list)
        return [str(arg) for arg in argv]

    def stop(self) -> None:
        self._child.signal_group(signal.SIGINT)  # fast shutdown
        self._child.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class PrivateRabbitMq:
    """A second RabbitMQ node (`chaos-<port>@localhost`) with its own ports, database and logs;
    `guest` may log in from loopback, which is all this node serves."""

    root: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.node = f"chaos-{self.port}@localhost"
        self._child = _Child("rabbitmq", self.root / "rabbitmq.log")

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        home = Path(pwd.getpwnam("rabbitmq").pw_dir)  # its Erlang cookie lives there
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")},
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq"),  # none: the defaults
            "RABBITMQ_LOGS": "-",  # to stdout, i.e. our log file
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def start(self) -> None:
        if not RABBITMQ_SERVER.exists():
            raise BackendError(f"{RABBITMQ_SERVER} is missing: run `make setup`")
        if not (self.root / "enabled_plugins").exists():
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / "enabled_plugins").write_text("[].\n")  # no management plugin
            _chown_tree(self.root, "rabbitmq")
        self._child.spawn([*_as_user("rabbitmq"), str(RABBITMQ_SERVER)], self._env())
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_BOUND_SECONDS
        while time.monotonic() < deadline:
            if self._child.exited():
                raise BackendError(f"private RabbitMQ exited:\n{self._child.log_tail()}")
            if _answers(self.port):
                return
            time.sleep(0.3)
        raise BackendError(f"private RabbitMQ did not listen:\n{self._child.log_tail()}")

    def log_tail(self) -> str:
        return f"----- private RabbitMQ ({self._child.log_path}) -----\n{self._child.log_tail()}"

    def restart(self) -> None:
        """A clean stop (durable queues and persistent messages survive) and a start."""
        self.halt()
        self.start()

    def halt(self) -> None:
        """A clean stop that keeps the node's data: `start()` brings the same node back."""
        self._child.signal_group(signal.SIGTERM)
        self._child.wait(bound=90)

    def stop(self) -> None:
        self._child.signal_group(signal.SIGTERM)
        self._child.wait(bound=90)
        shutil.rmtree(self.root, ignore_errors=True)
