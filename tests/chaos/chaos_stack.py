"""The e2e tier's stack mode on private Postgres and RabbitMQ, with faults on demand.

The four services are started exactly as `tests/e2e/e2e_stack.py` starts them (the same
environment, one process group each), but against this run's own Postgres and RabbitMQ
(`private_backends`), so a restart of either harms nobody else. S3, the registry (token auth)
and the Docker engine are the shared ones; names stay apart by a unique user and S3 prefix.

Faults: `kill(name)` is `kill -9` of a service's whole process group, then the same command
again on the same port (an orchestrator restarting it); `restart_rabbitmq()` and
`crash_postgres()` stop and start the private servers. Every fault is timed (`faults`).

No pytest here: tests/chaos/conftest.py and the test use this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from e2e_stack import (
    SERVICE_NAMES,
    Backends,
    Stack,
    StackOptions,
    create_database,
    free_port,
    service_env,
    spawn,
    wait_healthy,
    with_blob_prefix,
)
from private_backends import PrivatePostgres, PrivateRabbitMq


@dataclass(frozen=True)
class Fault:
    what: str
    at: float  # time.monotonic() when it was injected
    recovered_seconds: float  # until the killed process answered /healthz again


@dataclass
class ChaosStack:
    stack: Stack
    postgres: PrivatePostgres
    rabbitmq: PrivateRabbitMq
    envs: dict[str, dict[str, str]]
    ports: dict[str, int]
    onboarding_tmp: Path
    faults: list[Fault] = field(default_factory=list)

    @property
    def builder_builds_dir(self) -> Path:
        return self.stack.work_dir / "builder" / "builds"

    async def kill(self, name: str) -> None:
        """kill -9 of the service's process group, then started again with the same env."""
        started = time.monotonic()
        process = self.stack.processes[name].process
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.wait, 30)
        restarted = spawn(name, self.envs[name], self.ports[name], self.stack.work_dir)
        self.stack.processes[name] = restarted
        await wait_healthy(restarted)
        self.faults.append(Fault(f"kill -9 {name}", started, time.monotonic() - started))

    async def restart_rabbitmq(self) -> None:
        started = time.monotonic()
        await asyncio.to_thread(self.rabbitmq.restart)
        self.faults.append(Fault("restart RabbitMQ", started, time.monotonic() - started))

    async def crash_postgres(self) -> None:
        started = time.monotonic()
        await asyncio.to_thread(self.postgres.crash_and_restart)
        self.faults.append(Fault("crash + restart Postgres", started, time.monotonic() - started))

    @property
    def last_fault_at(self) -> float:
        return max(fault.at for fault in self.faults)


async def start_chaos_stack(
    backends: Backends,
    work_dir: Path,
    postgres: PrivatePostgres,
    rabbitmq: PrivateRabbitMq,
    options: StackOptions,
) -> ChaosStack:
    """A fresh database on the private Postgres, the private broker's `/` vhost, a unique S3
    prefix; the four services started and healthy. Onboarding gets a temp dir of its own
    (`TMPDIR`), so its resolve directories and spool files can be looked for afterwards."""
    run_id = uuid.uuid4().hex[:10]
    blob_prefix = f"chaos-{run_id}"
    private = Backends(
        database_url=postgres.database_url,
        amqp_url=rabbitmq.amqp_url,
        blob_url=backends.blob_url,
        registry=backends.registry,
        base_image=backends.base_image,
        docker_host=backends.docker_host,
        registry_token_key_file=backends.registry_token_key_file,
    )
    stack = Stack(
        backends=private,
        database_url=await create_database(postgres.database_url),
        bus_url=rabbitmq.amqp_url,
        vhost="/",
        blob_url=with_blob_prefix(backends.blob_url, blob_prefix),
        blob_prefix=blob_prefix,
        admin_username="admin",
        admin_token=secrets.token_urlsafe(32),
        work_dir=work_dir,
    )
    onboarding_tmp = work_dir / "onboarding-tmp"
    onboarding_tmp.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in SERVICE_NAMES}
    envs = {name: service_env(stack, name, ports[name], ports, options) for name in SERVICE_NAMES}
    envs["onboarding"]["TMPDIR"] = str(onboarding_tmp)
    chaos = ChaosStack(stack, postgres, rabbitmq, envs, ports, onboarding_tmp)
    try:
        for name in SERVICE_NAMES:
            stack.processes[name] = spawn(name, envs[name], ports[name], work_dir)
        for name in SERVICE_NAMES:
            await wait_healthy(stack.processes[name])
    except BaseException:
        await asyncio.to_thread(stack.stop)
        raise
    return chaos
