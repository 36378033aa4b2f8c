"""A killed builder's debris is swept by the next builder on this host (issue 11, defect 5), and
the validation container runs under a CPU limit (defect 8). Real Docker engine.

A validation container that outlived its builder ran forever; scratch directories of killed
builds (~194 MB each) stayed. Each now carries its builder's owner tag (label or name); the
sweep removes those whose builder is dead on this host, never a live builder's.
"""

from __future__ import annotations

import io
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import docker
import pytest
from modelbay_builder.compare import Tolerance
from modelbay_builder.debris import (
    OWNER_LABEL,
    SCRATCH_BASE,
    VALIDATION_LABEL,
    builds_directory,
    sweep_builder_debris,
    sweep_validation_containers,
)
from modelbay_builder.inputs import scratch_directory
from modelbay_builder.records import BuildRequest
from modelbay_builder.validation import ValidationLimits, _remove, _start
from modelbay_common.scratch import owned_prefix, owner_tag, this_process

TEST_LABEL = "dev.modelbay.test-run"


def _dead_tag() -> str:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return owner_tag(replace(this_process(), pid=finished.pid))


@pytest.fixture(scope="module")
def sleeper_image(docker_client: docker.DockerClient, base_image: str) -> Iterator[str]:
    """The base image with a command that just waits, standing in for a model server."""
    tag = f"modelbay-test-sleeper:{uuid.uuid4().hex[:8]}"
    dockerfile = f'FROM {base_image}\nCMD ["sleep", "600"]\n'.encode()
    docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True)
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.fixture
def run_id(docker_client: docker.DockerClient) -> Iterator[str]:
    """Labels this test's containers, and removes whatever of them a failure left."""
    run = uuid.uuid4().hex[:12]
    yield run
    for container in docker_client.containers.list(
        all=True, filters={"label": f"{TEST_LABEL}={run}"}
    ):
        container.remove(force=True)


def _container(client: docker.DockerClient, image: str, owner: str, run: str) -> str:
    container = client.containers.run(
        image,
        detach=True,
        network_mode="none",
        labels={VALIDATION_LABEL: "alice/iris/1", OWNER_LABEL: owner, TEST_LABEL: run},
    )
    return str(container.id)


def _exists(client: docker.DockerClient, container_id: str) -> bool:
    return any(found.id == container_id for found in client.containers.list(all=True))


def test_validation_containers_of_a_dead_builder_are_removed_a_live_ones_are_kept(
    docker_client: docker.DockerClient, sleeper_image: str, run_id: str
) -> None:
    orphan = _container(docker_client, sleeper_image, _dead_tag(), run_id)
    ours = _container(docker_client, sleeper_image, owner_tag(), run_id)
    other_host = _container(
        docker_client,
        sleeper_image,
        owner_tag(replace(this_process(), host="elsewhere", pid=1)),
        run_id,
    )

    removed = sweep_validation_containers(docker_client)

    assert not _exists(docker_client, orphan)
    assert _exists(docker_client, ours)
    assert _exists(docker_client, other_host)
    assert len(removed) >= 1


def test_the_validation_container_has_a_cpu_limit_and_its_builders_owner_tag(
    docker_client: docker.DockerClient, sleeper_image: str
) -> None:
    limits = ValidationLimits(
        memory="256m", cpus=0.5, ready_timeout=10, sample_timeout=10, tolerance=Tolerance(0, 0)
    )
    container = _start(docker_client, sleeper_image, limits, "alice/iris/1")
    try:
        container.reload()
        host_config = container.attrs["HostConfig"]
        assert host_config["NanoCpus"] == 500_000_000
        assert container.labels[OWNER_LABEL] == owner_tag()
        assert container.labels[VALIDATION_LABEL] == "alice/iris/1"
    finally:
        _remove(container)


async def test_scratch_directories_of_a_killed_build_are_swept_a_running_one_is_kept(
    tmp_path: Path,
) -> None:
    builds = builds_directory(tmp_path)
    builds.mkdir(parents=True)
    killed = builds / f"{SCRATCH_BASE}{_dead_tag()}-alice-iris-1-0a1b2c3d"
    killed.mkdir()
    (killed / "context.tar").write_bytes(b"x" * 100_000)
    request = BuildRequest(
        owner="alice",
        name="iris",
        version=2,
        bundle_uri="s3://bundles/x",
        bundle_sha256="0" * 64,
        python_version="3.11",
        lock=(),
        lock_hash="0" * 64,
        wheelhouse_uri="s3://wheelhouses/x",
    )
    async with scratch_directory(tmp_path, request) as running:
        assert running.name.startswith(owned_prefix(SCRATCH_BASE))
        sweep_builder_debris(tmp_path, None)
        assert running.exists()
    assert not killed.exists()
