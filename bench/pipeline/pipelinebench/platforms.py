"""The two ways to run Modelbay that the benchmark measures, behind one small interface.

- **embedded**: `modelbay_embedded.platform.EmbeddedPlatform` in this process (embedded
  PostgreSQL, in-process bus, filesystem blobs), its gateway served by uvicorn on a free port;
- **stack**: the four services as processes on the real Postgres, RabbitMQ, S3 and registry,
  started by the end-to-end tier's harness (`tests/e2e/e2e_stack.py`).

"Cold" means nothing the pipeline could reuse exists: a fresh blob store (no wheelhouse), a fresh
pip cache (every wheel comes from PyPI), a fresh builder work directory (the runtime wheel is
built) and a base image with a new image id (the same filesystem plus one label), so Docker's
build cache has no dependency layer for it. The label adds no layer and no byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import docker
from e2e_stack import Backends, StackOptions, free_port, start_stack, stop_stack

COLD_BASE_REPOSITORY = "modelbay-bench/base"


class Platform(Protocol):
    """A running Modelbay: where its gateway is, an admin token, and its wheelhouse sizes."""

    url: str
    token: str

    async def wheelhouse_bytes(self, lock_hash: str) -> int | None: ...


@dataclass
class EmbeddedRun:
    url: str
    token: str
    blobs: Path

    async def wheelhouse_bytes(self, lock_hash: str) -> int | None:
        return await asyncio.to_thread(self._stat, lock_hash)

    def _stat(self, lock_hash: str) -> int | None:
        found = list(self.blobs.rglob(f"wheelhouses/{lock_hash}*"))
        return found[0].stat().st_size if found else None


@dataclass
class StackRun:
    url: str
    token: str
    blob_url: str
    prefix: str

    async def wheelhouse_bytes(self, lock_hash: str) -> int | None:
        return await asyncio.to_thread(self._stat, lock_hash)

    def _stat(self, lock_hash: str) -> int | None:
        from minio import Minio
        from modelbay_common.blob import parse_s3_url

        where = parse_s3_url(self.blob_url)
        client = Minio(
            where.endpoint,
            access_key=where.access_key,
            secret_key=where.secret_key,
            secure=where.secure,
            region=where.region,
        )
        listing = client.list_objects(where.bucket, prefix=f"{self.prefix}/wheelhouses/")
        for item in listing:
            if lock_hash in str(item.object_name):
                return int(item.size or 0)
        return None


def make_cold_base(client: docker.DockerClient, base_image: str) -> str:
    """`base_image` plus a unique label: same bytes, new image id, empty build cache."""
    tag = f"{COLD_BASE_REPOSITORY}:cold-{uuid.uuid4().hex[:10]}"
    dockerfile = f"FROM {base_image}\nLABEL dev.modelbay.bench.cold={tag.rsplit(':', 1)[1]}\n"
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, pull=False)
    return tag


@contextlib.asynccontextmanager
async def cold_environment(
    client: docker.DockerClient, base_image: str
) -> AsyncIterator[tuple[str, Path]]:
    """A fresh base image id and a fresh pip cache; both removed afterwards."""
    base = await asyncio.to_thread(make_cold_base, client, base_image)
    pip_cache = Path(tempfile.mkdtemp(prefix="modelbay-bench-pip-"))
    try:
        yield base, pip_cache
    finally:
        shutil.rmtree(pip_cache, ignore_errors=True)
        with contextlib.suppress(docker.errors.APIError):
            await asyncio.to_thread(client.images.remove, base, noprune=True)


@contextlib.asynccontextmanager
async def embedded_platform(
    backends: Backends, base_image: str, pip_cache: Path
) -> AsyncIterator[EmbeddedRun]:
    import os

    import uvicorn
    from modelbay_embedded.platform import EmbeddedConfig, EmbeddedPlatform, detect_docker

    # What `modelbay up` reads from the user's environment.
    os.environ["MODELBAY_BUILDER_BASE_IMAGE"] = base_image
    os.environ["MODELBAY_BUILDER_REGISTRY"] = backends.registry
    os.environ["MODELBAY_ONBOARDING_PIP_CACHE_DIR"] = str(pip_cache)
    os.environ["DOCKER_HOST"] = backends.docker_host
    # /tmp, not a pytest-style 0700 tree: the embedded PostgreSQL's system user must traverse it.
    data_dir = Path(tempfile.mkdtemp(prefix="modelbay-bench-embedded-"))
    config = EmbeddedConfig(data_dir=data_dir, port=free_port(), docker=True)
    platform = EmbeddedPlatform(config, detect_docker())
    server: uvicorn.Server | None = None
    serving: asyncio.Task[None] | None = None
    try:
        await platform.start()
        assert platform.gateway is not None
        server = uvicorn.Server(
            uvicorn.Config(
                platform.gateway.app,
                host=config.host,
                port=config.port,
                log_config=None,
                lifespan="off",
                log_level="warning",
            )
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                raise RuntimeError("the embedded gateway stopped while starting")
            await asyncio.sleep(0.05)
        yield EmbeddedRun(platform.url, platform.token, data_dir / "blobs")
    finally:
        if server is not None and serving is not None:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await serving
        await platform.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def stack_platform(
    backends: Backends, base_image: str, pip_cache: Path, work_dir: Path
) -> AsyncIterator[StackRun]:
    options = StackOptions(pip_cache_dir=pip_cache)
    stack = await start_stack(replace(backends, base_image=base_image), work_dir, options)
    try:
        yield StackRun(stack.gateway_url, stack.admin_token, stack.blob_url, stack.blob_prefix)
    finally:
        await stop_stack(stack)
