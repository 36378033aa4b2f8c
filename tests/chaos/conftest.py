"""The fault suite: the stack mode on private Postgres and RabbitMQ, killed and restarted.

`chaos` starts a private Postgres and a private RabbitMQ (`private_backends`, own ports and data
dirs: the shared ones are never restarted) and the four services on them (`chaos_stack`), with
the shared S3, registry (token auth) and Docker engine of `make services-up`. A missing shared
service fails the session with its name; nothing skips. A failed test shows every log tail.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Protocol

import pytest

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent / "e2e"))  # the stack mode's starter and client

from chaos_stack import ChaosStack, start_chaos_stack  # noqa: E402
from e2e_client import MAX_UPLOAD_BYTES  # noqa: E402
from e2e_stack import Backends, StackError, StackOptions  # noqa: E402
from private_backends import BackendError, PrivatePostgres, PrivateRabbitMq  # noqa: E402


class Services(Protocol):
    @property
    def docker_host(self) -> str: ...
    @property
    def blob_url(self) -> str: ...
    @property
    def registry_token_key_file(self) -> str | None: ...


@pytest.fixture(scope="module")
async def chaos(
    services: Services,
    s3_services: Services,
    registry: str,
    base_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ChaosStack]:
    # Postgres and RabbitMQ run as their own users: their dirs must be reachable by them, and
    # pytest's temp dirs are private to root.
    root = Path(tempfile.mkdtemp(prefix="modelbay-chaos-"))
    os.chmod(root, 0o755)
    postgres = PrivatePostgres(root / "postgres")
    rabbitmq = PrivateRabbitMq(root / "rabbitmq")
    backends = Backends(
        database_url=postgres.database_url,
        amqp_url=rabbitmq.amqp_url,
        blob_url=s3_services.blob_url,
        registry=registry,
        base_image=base_image,
        docker_host=services.docker_host,
        registry_token_key_file=services.registry_token_key_file,
    )
    running: ChaosStack | None = None
    try:
        postgres.start()
        rabbitmq.start()
        running = await start_chaos_stack(
            backends,
            tmp_path_factory.mktemp("chaos"),
            postgres,
            rabbitmq,
            StackOptions(max_upload_bytes=MAX_UPLOAD_BYTES),
        )
        yield running
    except (BackendError, StackError) as exc:
        pytest.fail(f"the fault suite's stack did not start: {exc}", pytrace=False)
    finally:
        if running is not None:
            running.stack.stop()
        rabbitmq.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows every service's log tail and the private backends' logs."""
    report = yield
    running = getattr(item, "funcargs", {}).get("chaos")
    if report.when == "call" and report.failed and isinstance(running, ChaosStack):
        report.sections.append(("Modelbay service logs", running.stack.logs(80)))
        report.sections.append(
            ("private backends", f"{running.postgres.log_tail()}\n{running.rabbitmq.log_tail()}")
        )
    return report
