"""The end-to-end tier: one Modelbay stack per session, started as an operator would.

`stack` starts the four services as processes (`python -m modelbay_<service>`, configured only
through environment variables) against the real Postgres, RabbitMQ, S3 (moto), registry and
Docker engine of `make services-up` (see `e2e_stack.py`). A missing backing service fails the
session with the service's name and `make services-up`; it never skips. When a test fails,
every service's log tail is printed with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Generator
from pathlib import Path
from typing import Protocol

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_client import MAX_UPLOAD_BYTES, Gateway, new_user
from e2e_stack import Backends, Stack, StackError, StackOptions, start_stack, stop_stack

REPO_ROOT = Path(__file__).resolve().parents[2]


class Services(Protocol):
    """What this tier reads from the root conftest's `services` fixture."""

    @property
    def docker_host(self) -> str: ...
    @property
    def blob_url(self) -> str: ...


@pytest.fixture(scope="session")
def backends(
    services: Services,
    postgres_url: str,
    amqp_url: str,
    s3_services: Services,
    registry: str,
    base_image: str,
) -> Backends:
    """Every backing service checked by the root conftest's fixtures (fail, never skip)."""
    return Backends(
        database_url=postgres_url,
        amqp_url=amqp_url,
        blob_url=s3_services.blob_url,
        registry=registry,
        base_image=base_image,
        docker_host=services.docker_host,
        registry_token_key_file=services.registry_token_key_file,
    )


@pytest.fixture(scope="session")
def python_base_images(base_image: str) -> dict[str, str]:
    """The Pythons the stack serves (MODELBAY_PYTHON_BASE_IMAGES): 3.11 on the base of `make
    services-up`, 3.13 on Debian trixie's, which `make services-up` builds too; built here when
    missing (seconds once cached, a debootstrap when cold: docs/builder.md)."""
    script = REPO_ROOT / "scripts" / "build-python-base-image.sh"
    built = subprocess.run(
        ["bash", str(script), "trixie", "3.13"], capture_output=True, text=True, check=False
    )
    if built.returncode != 0:
        pytest.fail(f"the Python 3.13 base image could not be built:\n{built.stderr[-2000:]}")
    return {"3.11": base_image, "3.13": built.stdout.strip().splitlines()[-1]}


@pytest.fixture(scope="session")
def reviewed_owner() -> str:
    """The one namespace of this stack whose publications to `public` wait for a publisher
    (the catalog's PUBLISH_APPROVAL_OWNERS): the web tier's contributor (tests/e2e/web), so the
    browser decides publish requests on the shared model; every other user publishes at once."""
    return f"wendy-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
async def stack(
    backends: Backends,
    python_base_images: dict[str, str],
    reviewed_owner: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    work_dir = tmp_path_factory.mktemp("stack")
    registered = {
        # Onboarding and the builder both read the shared variable (docs/builder.md).
        "MODELBAY_PYTHON_BASE_IMAGES": json.dumps(python_base_images),
        "MODELBAY_CATALOG_PUBLISH_APPROVAL_OWNERS": json.dumps([reviewed_owner]),
    }
    try:
        running = await start_stack(
            backends,
            work_dir,
            StackOptions(max_upload_bytes=MAX_UPLOAD_BYTES, extra_env=registered),
        )
    except StackError as exc:
        pytest.fail(f"the Modelbay stack did not start: {exc}", pytrace=False)
    yield running
    await stop_stack(running)


@pytest.fixture(scope="session")
async def admin(stack: Stack) -> AsyncIterator[Gateway]:
    async with Gateway(stack.gateway_url, stack.admin_token) as gateway:
        yield gateway


@pytest.fixture
async def alice(admin: Gateway) -> AsyncIterator[Gateway]:
    """A new user for one test (names are unique so image names never collide across runs)."""
    async with await new_user(admin, "alice") as gateway:
        yield gateway


@pytest.fixture
async def bob(admin: Gateway) -> AsyncIterator[Gateway]:
    async with await new_user(admin, "bob") as gateway:
        yield gateway


@pytest.fixture
def stored_objects(stack: Stack) -> Callable[[], set[str]]:
    """Lists every object key the stack wrote under its S3 prefix (staging keys included)."""
    from minio import Minio
    from modelbay_common.blob import parse_s3_url

    location = parse_s3_url(stack.backends.blob_url)
    client = Minio(
        location.endpoint,
        access_key=location.access_key,
        secret_key=location.secret_key,
        secure=location.secure,
        region=location.region,
    )

    def list_keys() -> set[str]:
        found = client.list_objects(location.bucket, prefix=stack.blob_prefix, recursive=True)
        return {str(item.object_name) for item in found}

    return list_keys


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows every service's log tail: most failures are explained there."""
    report = yield
    if report.when == "call" and report.failed:
        running = _stack_of(item)
        if running is not None:
            report.sections.append(("Modelbay service logs", running.logs()))
    return report


def _stack_of(item: pytest.Item) -> Stack | None:
    funcargs = getattr(item, "funcargs", {})
    found = funcargs.get("stack")
    return found if isinstance(found, Stack) else None
