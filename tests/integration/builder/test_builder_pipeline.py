"""The builder against the real Docker engine, registry, S3 (moto) and Postgres.

One service for the module; the tests run in order and build on each other's images:
v1 is built, validated, pushed and pulled back; v2 (same lock) must reuse the dependency layer;
a bundle whose recorded sample output is wrong ends in ValidationFailed naming the sample.
"""

from __future__ import annotations

import asyncio
import json
import tarfile
from typing import Any

import docker
import httpx
import pytest
from modelbay_builder.records import BuildStatus, BuildView
from modelbay_builder.store import BuildStore
from modelbay_common.db import transaction
from modelbay_common.events import Envelope, ImageBuilt, ValidationFailed
from modelbay_common.internal_auth import InternalAuth
from modelbay_common.registry_auth import RegistryTokenIssuer, repository_access

pytestmark = pytest.mark.slow

SAFETY_TIMEOUT = 900.0  # not an assertion on speed: only a bound so a hang fails the test


async def wait_for_build(builder: Any, name: str, version: int) -> BuildView:
    async def poll() -> BuildView:
        while True:
            async with transaction(builder.service.sessions) as session:
                view = await BuildStore(session).find(builder.owner, name, version)
            if view is not None and view.status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED):
                return view
            await asyncio.sleep(1)

    return await asyncio.wait_for(poll(), SAFETY_TIMEOUT)


async def wait_for_event(builder: Any, version: int) -> Envelope:
    async def poll() -> Envelope:
        while True:
            for event in builder.events:
                if event.source == "/modelbay/builder" and event.data.version == version:
                    return event
            await asyncio.sleep(0.2)

    return await asyncio.wait_for(poll(), 60)


def layers(client: docker.DockerClient, image_id: str) -> list[str]:
    return list(client.api.inspect_image(image_id)["RootFS"]["Layers"])


@pytest.fixture(scope="module")
async def built_v1(builder: Any, iris_bundles: Any, wheelhouse: Any, publish: Any) -> Envelope:
    await publish(
        builder, iris_bundles.v1, wheelhouse, version=1, python_version=iris_bundles.python_version
    )
    view = await wait_for_build(builder, "iris", 1)
    assert view.status is BuildStatus.SUCCEEDED, f"{view.reason}\n{view.log_tail}"
    return await wait_for_event(builder, 1)


async def test_v1_is_built_validated_pushed_with_labels_and_sbom(
    builder: Any, built_v1: Envelope, docker_client: docker.DockerClient, registry: str
) -> None:
    built = built_v1.event_as(ImageBuilt)
    assert built.image_ref == f"{registry}/{builder.owner}/iris:1"
    assert built.image_digest.startswith("sha256:")
    assert built.image_size > 0

    labels = docker_client.images.get(built.image_ref).labels
    manifest = json.loads(labels["dev.modelbay.manifest"])
    assert manifest["name"] == "iris"
    assert "message" in labels["dev.modelbay.proto"]
    assert "/model/methods/classify" in json.loads(labels["dev.modelbay.openapi"])["paths"]
    assert labels["org.opencontainers.image.version"] == "1"

    sbom = json.loads(await builder.blobs.get_bytes(built.sbom_uri))
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["specVersion"] == "1.5"
    purls = {component["purl"].split("@")[0] for component in sbom["components"]}
    assert {"pkg:pypi/numpy", "pkg:pypi/scikit-learn", "pkg:pypi/modelbay-runtime"} <= purls
    assert built.image_digest.removeprefix("sha256:") in json.dumps(sbom["metadata"])


async def test_v1_can_be_pulled_back_from_the_registry(
    built_v1: Envelope,
    docker_client: docker.DockerClient,
    registry_tokens: RegistryTokenIssuer | None,
) -> None:
    built = built_v1.event_as(ImageBuilt)
    image_id = docker_client.images.get(built.image_ref).id
    docker_client.images.remove(built.image_ref)  # the id stays while other tags/builds use it
    repository_path = built.image_ref.split("/", 1)[1].rsplit(":", 1)[0]
    auth_config = (
        registry_tokens.mint(
            "test", [repository_access(repository_path, "pull")]
        ).docker_auth_config()
        if registry_tokens
        else None
    )
    pulled = await asyncio.to_thread(
        docker_client.images.pull, built.image_ref, auth_config=auth_config
    )
    assert pulled.id == image_id
    repository = built.image_ref.rsplit(":", 1)[0]
    assert f"{repository}@{built.image_digest}" in pulled.attrs["RepoDigests"]


async def test_wheels_stay_out_of_the_final_image_and_it_runs_as_non_root(
    built_v1: Envelope, docker_client: docker.DockerClient
) -> None:
    built = built_v1.event_as(ImageBuilt)
    config = docker_client.api.inspect_image(built.image_ref)["Config"]
    assert config["User"] == "10001:10001"
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["Healthcheck"]["Test"][0] == "CMD"
    output = docker_client.containers.run(
        built.image_ref,
        [
            "/bin/sh",
            "-c",
            # Debian's own ensurepip wheels in /usr/share belong to the base image, not to us.
            "ls /tmp/wheelhouse 2>&1; find /opt /model /tmp -name '*.whl'; true",
        ],
        network_mode="none",
        remove=True,
    ).decode()
    assert "No such file" in output
    assert ".whl" not in output.replace("No such file", "")


async def test_same_lock_reuses_the_dependency_layer(
    builder: Any,
    built_v1: Envelope,
    iris_bundles: Any,
    wheelhouse: Any,
    publish: Any,
    docker_client: docker.DockerClient,
) -> None:
    await publish(
        builder, iris_bundles.v2, wheelhouse, version=2, python_version=iris_bundles.python_version
    )
    view = await wait_for_build(builder, "iris", 2)
    assert view.status is BuildStatus.SUCCEEDED, f"{view.reason}\n{view.log_tail}"
    built_v2 = (await wait_for_event(builder, 2)).event_as(ImageBuilt)
    assert built_v2.dependency_layer_cached is True
    assert "Using cache" in view.log_tail or view.dependency_layer_cached

    v1_layers = layers(docker_client, built_v1.event_as(ImageBuilt).image_ref)
    v2_layers = layers(docker_client, built_v2.image_ref)
    # base layer(s), the venv, the runtime: identical; the bundle layer differs (other manifest).
    assert v1_layers[:-1] == v2_layers[:-1]
    assert v1_layers[-1] != v2_layers[-1]


async def test_wrong_recorded_output_fails_validation_naming_the_sample(
    builder: Any, built_v1: Envelope, iris_bundles: Any, wheelhouse: Any, publish: Any
) -> None:
    await publish(
        builder,
        iris_bundles.wrong_sample,
        wheelhouse,
        version=3,
        python_version=iris_bundles.python_version,
    )
    view = await wait_for_build(builder, "iris", 3)
    assert view.status is BuildStatus.FAILED
    assert view.failure_kind == "validation"
    failed = (await wait_for_event(builder, 3)).event_as(ValidationFailed)
    assert failed.method == "classify"
    assert failed.sample_index == 0
    assert isinstance(failed.expected, dict)
    assert isinstance(failed.actual, dict)
    assert failed.expected["IrisType"] != failed.actual["IrisType"]
    assert "sample 0 of method 'classify'" in failed.reason
    assert "IrisType" in failed.reason
    # Nothing was pushed for the failed version.
    assert view.image_digest is None


async def test_internal_api_shows_builds_and_streams_the_image_tarball(
    builder: Any, built_v1: Envelope
) -> None:
    transport = httpx.ASGITransport(app=builder.service.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://builder", auth=InternalAuth()
    ) as client:
        answer = await client.get(f"/internal/builds/{builder.owner}/iris/1")
        assert answer.status_code == 200
        body = answer.json()
        assert body["status"] == "succeeded"
        assert body["image_digest"] == built_v1.event_as(ImageBuilt).image_digest
        assert "done:" in body["log_tail"]

        missing = await client.get(f"/internal/builds/{builder.owner}/iris/99")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")

        async with client.stream(
            "GET", f"/internal/images/{builder.owner}/iris/1/tarball"
        ) as tarball:
            assert tarball.status_code == 200
            assert tarball.headers["content-type"] == "application/x-tar"
            head = b""
            async for chunk in tarball.aiter_bytes():
                head += chunk
                if len(head) >= 64 * 1024:
                    break
    # A tar header: the ustar magic at offset 257 of the first member.
    assert head[257:262] == b"ustar"
    first = tarfile.TarInfo.frombuf(head[:512], "utf-8", "surrogateescape")
    assert first.name


async def test_tarball_of_a_failed_build_is_a_conflict(builder: Any) -> None:
    transport = httpx.ASGITransport(app=builder.service.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://builder", auth=InternalAuth()
    ) as client:
        view = await wait_for_build(builder, "iris", 3)
        assert view.status is BuildStatus.FAILED
        answer = await client.get(f"/internal/images/{builder.owner}/iris/3/tarball")
    assert answer.status_code == 409
    assert answer.json()["build_status"] == "failed"
