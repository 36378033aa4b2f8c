"""The daemonless backend (`MODELBAY_BUILDER_BACKEND=buildah`) against the real registry.

The same builder service as test_builder_pipeline.py with `backend="buildah"`: buildah builds
the same context (vfs storage under the builder's work dir, the base image taken from the
Docker engine), the engine validates, skopeo pushes with the builder's own minted token to the
registry of `make services-up` (behind token auth). Checked: the image in the registry is the
validated one (pulled back by digest, same image id), it has the Docker path's labels, user,
health check, port and command, and the idle memory is recorded; a second version with the
same lock reuses the dependency layer from buildah's cache (`--layers`), so only the bundle
layer differs. The model has no third-party imports (`doubler_script.py`): vfs copies the whole
file system at every step, and under this machine's load an iris image (numpy, scipy,
scikit-learn) took over 15 minutes per build.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from modelbay_builder.records import BuildStatus, BuildView
from modelbay_builder.store import BuildStore
from modelbay_common.db import transaction
from modelbay_common.events import Envelope, ImageBuilt
from modelbay_common.registry_auth import RegistryTokenIssuer, repository_access
from test_builder_pipeline import layers, wait_for_event

# A whole vfs-backed buildah build takes minutes even warm: it runs in `make test-long`.
pytestmark = [pytest.mark.slow, pytest.mark.long, pytest.mark.timeout(2400)]

HERE = Path(__file__).resolve().parent
SAFETY_TIMEOUT = 1800.0  # a bound so a hang fails, not a speed assertion (vfs under load)

LABELS = {
    "dev.modelbay.manifest",
    "dev.modelbay.proto",
    "dev.modelbay.openapi",
    "dev.modelbay.owner",
    "dev.modelbay.name",
    "dev.modelbay.version",
    "dev.modelbay.lock-hash",
    "org.opencontainers.image.title",
    "org.opencontainers.image.version",
}


@pytest.fixture(scope="module")
def builder_settings_overrides() -> dict[str, Any]:
    for tool in ("buildah", "skopeo"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: run scripts/bootstrap.sh (Debian package)")
    return {"backend": "buildah"}


@pytest.fixture(scope="module", autouse=True)
def remove_buildah_storage(builder: Any) -> Iterator[None]:
    """vfs keeps a full copy of the file system per layer (gigabytes for a scientific stack): the
    store under the builder's work dir goes when the module is done."""
    yield
    subprocess.run(
        ["buildah", "--root", str(builder.settings.work_dir / "buildah" / "storage"),
         "--runroot", str(builder.settings.work_dir / "buildah" / "run"),
         "--storage-driver", "vfs", "rmi", "--all", "--force"],
        capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    shutil.rmtree(builder.settings.work_dir / "buildah", ignore_errors=True)


@dataclass(frozen=True)
class SmallBundles:
    v1: Path
    v2: Path  # same lock, other description: only the bundle layer differs
    python_version: str


def _dump(out: Path, description: str) -> Path:
    command = [sys.executable, str(HERE / "doubler_script.py"), str(out), description]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def small_bundles(tmp_path_factory: pytest.TempPathFactory) -> SmallBundles:
    work = tmp_path_factory.mktemp("doubler-bundles")
    v1 = _dump(work / "doubler-v1.tar.gz", "Doubles numbers, first version")
    v2 = _dump(work / "doubler-v2.tar.gz", "Doubles numbers, second version")
    with tarfile.open(v1) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        python = json.loads(member.read())["python"]
    return SmallBundles(v1, v2, ".".join(python.split(".")[:2]))


async def wait_for_build(builder: Any, name: str, version: int) -> BuildView:
    async def poll() -> BuildView:
        while True:
            async with transaction(builder.service.sessions) as session:
                view = await BuildStore(session).find(builder.owner, name, version)
            if view is not None and view.status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED):
                return view
            await asyncio.sleep(1)

    return await asyncio.wait_for(poll(), SAFETY_TIMEOUT)


@pytest.fixture(scope="module")
async def buildah_v1(
    builder: Any, small_bundles: SmallBundles, runtime_only_wheelhouse: Any, publish: Any
) -> Envelope:
    await publish(
        builder,
        small_bundles.v1,
        runtime_only_wheelhouse,
        version=1,
        python_version=small_bundles.python_version,
        name="doubler",
    )
    view = await wait_for_build(builder, "doubler", 1)
    assert view.status is BuildStatus.SUCCEEDED, f"{view.reason}\n{view.log_tail}"
    assert view.idle_memory_bytes is not None
    assert view.idle_memory_bytes > 10 * 1024 * 1024  # a loaded python model server
    return await wait_for_event(builder, 1)


async def test_buildah_image_is_validated_pushed_and_pulled_back_by_digest(
    builder: Any,
    buildah_v1: Envelope,
    docker_client: docker.DockerClient,
    registry: str,
    registry_tokens: RegistryTokenIssuer | None,
) -> None:
    built = buildah_v1.event_as(ImageBuilt)
    assert built.image_ref == f"{registry}/{builder.owner}/doubler:1"
    assert built.image_digest.startswith("sha256:")
    validated_id = docker_client.images.get(built.image_ref).id
    docker_client.images.remove(built.image_ref)
    repository = built.image_ref.rsplit(":", 1)[0]
    path = repository.split("/", 1)[1]
    auth = (
        registry_tokens.mint("test", [repository_access(path, "pull")]).docker_auth_config()
        if registry_tokens
        else None
    )
    pulled = await asyncio.to_thread(
        docker_client.images.pull, f"{repository}@{built.image_digest}", auth_config=auth
    )
    assert pulled.id == validated_id, "the registry holds another image than the validated one"
    docker_client.api.tag(pulled.id, repository, "1")


async def test_buildah_image_matches_the_docker_path(
    buildah_v1: Envelope, docker_client: docker.DockerClient
) -> None:
    built = buildah_v1.event_as(ImageBuilt)
    attrs = docker_client.api.inspect_image(built.image_ref)
    config = attrs["Config"]
    assert config["User"] == "10001:10001"
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["Healthcheck"]["Test"][0] == "CMD", "docker format keeps the HEALTHCHECK"
    assert config["Cmd"][:3] == ["/opt/venv/bin/python", "-m", "modelbay_runtime"]
    assert set(config["Labels"]) >= LABELS
    assert json.loads(config["Labels"]["dev.modelbay.manifest"])["name"] == "doubler"
    base = docker_client.images.get(config["Labels"]["org.opencontainers.image.base.name"])
    # The base's layers, then the Dockerfile's three COPY layers: venv, runtime, bundle.
    assert len(attrs["RootFS"]["Layers"]) == len(base.attrs["RootFS"]["Layers"]) + 3


async def test_same_lock_reuses_the_buildah_dependency_layer(
    builder: Any,
    buildah_v1: Envelope,
    small_bundles: SmallBundles,
    runtime_only_wheelhouse: Any,
    publish: Any,
    docker_client: docker.DockerClient,
) -> None:
    await publish(
        builder,
        small_bundles.v2,
        runtime_only_wheelhouse,
        version=2,
        python_version=small_bundles.python_version,
        name="doubler",
    )
    view = await wait_for_build(builder, "doubler", 2)
    assert view.status is BuildStatus.SUCCEEDED, f"{view.reason}\n{view.log_tail}"
    built_v2 = (await wait_for_event(builder, 2)).event_as(ImageBuilt)
    cached = [
        line for line in view.log_tail.splitlines() if "STEP" in line or "Using cache" in line
    ]
    assert built_v2.dependency_layer_cached is True, "\n".join(cached)
    v1_layers = layers(docker_client, buildah_v1.event_as(ImageBuilt).image_ref)
    v2_layers = layers(docker_client, built_v2.image_ref)
    assert v1_layers[:-1] == v2_layers[:-1]
    assert v1_layers[-1] != v2_layers[-1]
