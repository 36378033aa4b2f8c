"""Shared fixtures for every test tier.

The real services are started by `make services-up` (scripts/services-up.sh), which writes their
endpoints to var/services.env. A test that needs a service it cannot reach fails and says which
one and how to start it: a missing service must never turn into a silent skip.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_ENV = REPO_ROOT / "var" / "services.env"


@dataclass(frozen=True)
class Services:
    """Endpoints and credentials of the real services the integration tiers talk to."""

    database_url: str
    amqp_url: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str
    blob_url: str
    registry: str
    base_image: str
    docker_host: str


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _require_tcp(name: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        pytest.fail(
            f"{name} is not reachable at {host}:{port} ({exc}). Start the services with "
            "`make services-up`.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def services() -> Services:
    if not SERVICES_ENV.exists():
        pytest.fail(
            f"{SERVICES_ENV} is missing: the real services are not running. "
            "Start them with `make services-up`.",
            pytrace=False,
        )
    env = {**_read_env_file(SERVICES_ENV), **os.environ}
    found = Services(
        database_url=env["MODELBAY_DATABASE_URL"],
        amqp_url=env["MODELBAY_AMQP_URL"],
        s3_endpoint=env["MODELBAY_S3_ENDPOINT"],
        s3_access_key=env["MODELBAY_S3_ACCESS_KEY"],
        s3_secret_key=env["MODELBAY_S3_SECRET_KEY"],
        s3_bucket=env["MODELBAY_S3_BUCKET"],
        blob_url=env["MODELBAY_BLOB_URL"],
        registry=env["MODELBAY_REGISTRY"],
        base_image=env["MODELBAY_BASE_IMAGE"],
        docker_host=env.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
    )
    return found


@pytest.fixture(scope="session")
def postgres_url(services: Services) -> str:
    parts = urlsplit(services.database_url)
    _require_tcp("PostgreSQL", parts.hostname or "127.0.0.1", parts.port or 5432)
    return services.database_url


@pytest.fixture(scope="session")
def amqp_url(services: Services) -> str:
    parts = urlsplit(services.amqp_url)
    _require_tcp("RabbitMQ", parts.hostname or "127.0.0.1", parts.port or 5672)
    return services.amqp_url


@pytest.fixture(scope="session")
def s3_services(services: Services) -> Services:
    host, _, port = services.s3_endpoint.partition(":")
    _require_tcp("S3 (moto server)", host, int(port or 80))
    return services


@pytest.fixture(scope="session")
def registry(services: Services) -> str:
    host, _, port = services.registry.partition(":")
    _require_tcp("OCI registry", host, int(port or 80))
    return services.registry


@pytest.fixture
async def fresh_database_url(postgres_url: str) -> AsyncIterator[str]:
    """A new, uniquely named database for one test, dropped afterwards.

    Tests run in parallel with other engineers' runs on the same server, so anything that
    creates schemas or tables gets a database of its own.
    """
    import asyncpg  # imported here so unit tests never need a database driver loaded

    parts = urlsplit(postgres_url)
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin_dsn = f"postgresql://{parts.netloc}{parts.path}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
