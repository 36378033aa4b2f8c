"""Shared fixtures for every test tier.

The real services are started by `make services-up` (scripts/services-up.sh), which writes their
endpoints to var/services.env (see docs/services.md). A test that needs a service it cannot reach
fails and says which one and how to start it: a missing service must never turn into a silent
skip. Nothing here touches the network until a fixture is requested, so unit tests never need
the services; client libraries are imported inside the fixtures for the same reason.
"""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import pytest
from modelbay_common.registry_auth import RegistryTokenIssuer
from throwaway_databases import temporary_database

if TYPE_CHECKING:
    import docker

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_ENV = REPO_ROOT / "var" / "services.env"
START_HINT = "Start the services with `make services-up`."


@dataclass(frozen=True)
class Services:
    """Endpoints and credentials of the real services the integration tiers talk to."""

    database_url: str
    amqp_url: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str
    s3_region: str
    blob_url: str
    registry: str
    base_image: str
    docker_host: str
    # The registry's token key (scripts/services/registry.sh); None for an open registry.
    registry_token_key_file: str | None = None


def _fail(message: str) -> NoReturn:
    pytest.fail(f"{message} {START_HINT}", pytrace=False)


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _require_tcp(name: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        _fail(f"{name} is not reachable at {host}:{port} ({exc}).")


def _host_port(endpoint: str, default_port: int) -> tuple[str, int]:
    host, _, port = endpoint.partition(":")
    return host, int(port or default_port)


@pytest.fixture(scope="session")
def services() -> Services:
    if not SERVICES_ENV.exists():
        _fail(f"{SERVICES_ENV} is missing: the real services are not running.")
    # The process environment wins, so a developer can point one variable elsewhere.
    env = {**_read_env_file(SERVICES_ENV), **os.environ}
    try:
        return Services(
            database_url=env["MODELBAY_DATABASE_URL"],
            amqp_url=env["MODELBAY_AMQP_URL"],
            s3_endpoint=env["MODELBAY_S3_ENDPOINT"],
            s3_access_key=env["MODELBAY_S3_ACCESS_KEY"],
            s3_secret_key=env["MODELBAY_S3_SECRET_KEY"],
            s3_bucket=env["MODELBAY_S3_BUCKET"],
            s3_region=env.get("MODELBAY_S3_REGION", "us-east-1"),
            blob_url=env["MODELBAY_BLOB_URL"],
            registry=env["MODELBAY_REGISTRY"],
            base_image=env["MODELBAY_BASE_IMAGE"],
            docker_host=env.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
            registry_token_key_file=env.get("MODELBAY_REGISTRY_TOKEN_KEY_FILE") or None,
        )
    except KeyError as missing:
        _fail(f"{SERVICES_ENV} has no {missing} (written by an older or partial run).")


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
    """S3 (moto) reachable *and* accepting the recorded key: moto keeps its keys in memory, so a
    restarted moto refuses the key in var/services.env until services-up writes a new one."""
    from minio import Minio
    from minio.error import S3Error

    host, port = _host_port(services.s3_endpoint, 80)
    _require_tcp("S3 (moto server)", host, port)
    client = Minio(
        services.s3_endpoint,
        access_key=services.s3_access_key,
        secret_key=services.s3_secret_key,
        secure=False,
        region=services.s3_region,
    )
    try:
        found = client.bucket_exists(services.s3_bucket)
    except S3Error as exc:
        _fail(f"S3 at {services.s3_endpoint} refuses the key in {SERVICES_ENV} ({exc.code}).")
    if not found:
        _fail(f"S3 at {services.s3_endpoint} has no bucket {services.s3_bucket!r}.")
    return services


@pytest.fixture(scope="session")
def registry(services: Services) -> str:
    """The OCI registry's host:port, after checking that /v2/ answers like a registry."""
    url = f"http://{services.registry}/v2/"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            api_version = response.headers.get("Docker-Distribution-Api-Version", "")
    except urllib.error.HTTPError as challenge:  # 401: behind token auth, as it should be
        api_version = challenge.headers.get("Docker-Distribution-Api-Version", "")
        if challenge.code == 401 and services.registry_token_key_file is None:
            _fail(
                f"{url} wants tokens, but {SERVICES_ENV} names no MODELBAY_REGISTRY_TOKEN_KEY_FILE."
            )
    except (urllib.error.URLError, OSError) as exc:
        _fail(f"OCI registry is not reachable at {url} ({exc}).")
    if not api_version.startswith("registry/2"):
        _fail(f"{url} answered, but not as an OCI registry.")
    return services.registry


@pytest.fixture(scope="session")
def registry_tokens(services: Services, registry: str) -> RegistryTokenIssuer | None:
    """Mints registry tokens with the shared registry's key, as the builder does (push) and the
    gateway does (pull); None when the services name no key (an open registry needs none)."""
    if services.registry_token_key_file is None:
        return None
    key_file = Path(services.registry_token_key_file)
    if not key_file.is_file():
        _fail(f"the registry token key {key_file} is missing. {START_HINT}")
    return RegistryTokenIssuer.from_key_file(key_file)


@pytest.fixture(scope="session")
def docker_client(services: Services) -> Iterator[docker.DockerClient]:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.DockerClient(base_url=services.docker_host, timeout=300)
        client.ping()
    except DockerException as exc:
        _fail(f"Docker engine is not reachable at {services.docker_host} ({exc}).")
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(services: Services, docker_client: docker.DockerClient) -> str:
    """The base image for model images (python:3.11-slim or the Debian-built equivalent)."""
    from docker.errors import ImageNotFound

    try:
        docker_client.images.get(services.base_image)
    except ImageNotFound:
        _fail(f"Base image {services.base_image} is not in the local Docker engine.")
    return services.base_image


@pytest.fixture
async def fresh_database_url(postgres_url: str) -> AsyncIterator[str]:
    """A new, uniquely named database for one test, dropped afterwards.

    Tests run in parallel with other engineers' runs on the same server, so anything that
    creates schemas or tables gets a database of its own. The URL keeps the driver of
    MODELBAY_DATABASE_URL (postgresql+asyncpg://...).
    """
    async with temporary_database(postgres_url) as url:
        yield url


@pytest.fixture(scope="module")
async def module_database_url(postgres_url: str) -> AsyncIterator[str]:
    """One database shared by a module's tests (migrating several schemas per test is slow)."""
    async with temporary_database(postgres_url) as url:
        yield url
