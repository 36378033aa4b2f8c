"""The Fig. 2 flow in embedded mode, in-process: `modelbay_embedded.platform` runs the four
services in this test's event loop (embedded PostgreSQL, in-process bus, filesystem blobs, the
local Docker engine and the registry), the gateway is served on a free loopback port, and the
paper's script pushes to it; then pull, run and predict as in stack mode."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import docker
import pytest
import uvicorn
from e2e_client import Gateway, describe_failure, new_user
from e2e_models import FIG2_NAME, as_fig2_input, fig2_classifier, push_fig2
from e2e_runtime import call_json, call_protobuf, pull, remove_local_image, running_model
from e2e_stack import Backends, free_port
from modelbay_embedded.platform import EmbeddedConfig, EmbeddedPlatform, detect_docker


@pytest.fixture
async def embedded(
    backends: Backends, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[EmbeddedPlatform]:
    # The embedded builder reads these like `modelbay up` would from the user's environment.
    monkeypatch.setenv("MODELBAY_BUILDER_BASE_IMAGE", backends.base_image)
    monkeypatch.setenv("MODELBAY_BUILDER_REGISTRY", backends.registry)
    monkeypatch.setenv("DOCKER_HOST", backends.docker_host)
    if backends.registry_token_key_file:  # the builder pushes, the gateway issues pull tokens
        monkeypatch.setenv("MODELBAY_REGISTRY_TOKEN_KEY_FILE", backends.registry_token_key_file)
    docker_status = detect_docker()
    assert docker_status.available, docker_status.detail
    # Not under pytest's tmp_path: as root, the embedded PostgreSQL runs as a system user that
    # must traverse the data directory's parents, and every pytest session (other engineers'
    # included) resets /tmp/pytest-of-root to 0700, which locks `pg_ctl stop` out.
    data_dir = Path(tempfile.mkdtemp(prefix="modelbay-e2e-embedded-"))
    config = EmbeddedConfig(data_dir=data_dir, port=free_port(), docker=True)
    platform = EmbeddedPlatform(config, docker_status)
    try:
        await platform.start()
    except BaseException:
        await platform.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    assert platform.gateway is not None
    server = uvicorn.Server(
        uvicorn.Config(
            platform.gateway.app,
            host=config.host,
            port=config.port,
            log_config=None,
            lifespan="off",
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the embedded gateway stopped while starting"
            await asyncio.sleep(0.05)
        yield platform
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving
        await platform.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_fig2_in_embedded_mode(
    embedded: EmbeddedPlatform, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    async with Gateway(embedded.url, embedded.token) as admin:
        emma = await new_user(admin, "emma")
    async with emma:
        await push_fig2(emma, tmp_path)
        detail = await emma.follow(emma.username, FIG2_NAME, 1)
        assert detail["status"] == "ready", describe_failure(detail)
        registry_token = await emma.registry_token(detail["image_ref"])

    ref = detail["image_ref"]
    remove_local_image(docker_client, ref)
    pull(docker_client, ref, registry_token)
    clf, x_test = fig2_classifier()
    expected = [int(label) for label in clf.predict(x_test)]
    request = as_fig2_input(x_test)
    async with running_model(docker_client, ref) as url:
        assert await call_json(url, "classify", request) == {"IrisType": expected}
        over_protobuf = await call_protobuf(url, "classify", request)
    assert [int(label) for label in over_protobuf["IrisType"]] == expected
