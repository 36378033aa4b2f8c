"""Fixtures of the builder's integration tests: real bundles, a real wheelhouse, a real service.

The wheelhouse is made the way the resolver makes it (`pip download` of the bundle's pins plus
the runtime's server requirements for manylinux x86_64 / CPython 3.11), cached under the system
temp directory between runs because downloading ~60 MB of wheels each time helps nobody.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import json
import subprocess
import sys
import tarfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from modelbay.bundle import write_archive
from modelbay_builder.main import BuilderService, build_service
from modelbay_builder.settings import BuilderSettings
from modelbay_common.blob import BlobStore, keys
from modelbay_common.bus.port import Bus
from modelbay_common.events import DependenciesResolved, Envelope, envelope
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

HERE = Path(__file__).resolve().parent
WHEEL_CACHE = Path("/tmp/modelbay-builder-test-wheels")
TARGET_PYTHON = "3.11"
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")


@dataclass(frozen=True)
class Wheelhouse:
    tar: Path
    lock: tuple[str, ...]
    lock_hash: str


@dataclass(frozen=True)
class IrisBundles:
    v1: Path
    v2: Path  # same requirements, other description: same lock, other bundle layer
    wrong_sample: Path  # v1 with a recorded output the model does not produce
    requirements: tuple[str, ...]
    python_version: str


def _dump(out: Path, description: str) -> Path:
    command = [sys.executable, str(HERE / "iris_script.py"), str(out), description]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return out


def _with_wrong_sample(archive: Path, out: Path, work: Path) -> Path:
    """The same bundle whose first sample claims every flower is class 2 (the model says not)."""
    bundle = work / "wrong"
    with tarfile.open(archive) as tar:
        tar.extractall(bundle, filter="data")
    manifest = json.loads((bundle / "manifest.json").read_text())
    recorded = manifest["samples"]["classify"][0]["output"]
    recorded["IrisType"] = [2] * len(recorded["IrisType"])
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2))
    with out.open("wb") as stream:
        write_archive(bundle, stream)
    return out


@pytest.fixture(scope="session")
def iris_bundles(tmp_path_factory: pytest.TempPathFactory) -> IrisBundles:
    work = tmp_path_factory.mktemp("iris-bundles")
    v1 = _dump(work / "iris-v1.tar.gz", "Iris classifier, first version")
    v2 = _dump(work / "iris-v2.tar.gz", "Iris classifier, second version")
    with tarfile.open(v1) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest: dict[str, Any] = json.loads(member.read())
    return IrisBundles(
        v1=v1,
        v2=v2,
        wrong_sample=_with_wrong_sample(v1, work / "iris-wrong.tar.gz", work),
        requirements=tuple(manifest["requirements"]),
        python_version=".".join(manifest["python"].split(".")[:2]),
    )


def runtime_server_requirements() -> list[str]:
    environment = {"extra": "server", "python_version": TARGET_PYTHON, "sys_platform": "linux"}
    pins = []
    for text in importlib.metadata.requires("modelbay-runtime") or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            pins.append(str(requirement))
    return sorted(pins)


def _download(requirements: list[str], directory: Path) -> None:
    command = [
        sys.executable, "-m", "pip", "download", "--isolated", "--no-input",
        "--progress-bar", "off", "--only-binary=:all:",
        *[arg for platform in PLATFORMS for arg in ("--platform", platform)],
        "--python-version", TARGET_PYTHON, "--implementation", "cp",
        "-d", str(directory), *requirements,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"pip download failed (PyPI reachable?): {result.stderr[-2000:]}"


def make_wheelhouse(requirements: list[str], out_dir: Path) -> Wheelhouse:
    """The wheelhouse of `requirements` (downloaded once into WHEEL_CACHE) as a tar in `out_dir`."""
    requirements = sorted(requirements)
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    directory = WHEEL_CACHE / key
    if not (directory / ".complete").exists():
        directory.mkdir(parents=True, exist_ok=True)
        _download(requirements, directory)
        (directory / ".complete").write_text("\n".join(requirements))
    wheels = sorted(directory.glob("*.whl"))
    lock = tuple(
        sorted(
            f"{canonicalize_name(name)}=={version}"
            for name, version, _, _ in (parse_wheel_filename(w.name) for w in wheels)
        )
    )
    lock_hash = hashlib.sha256("\n".join([*lock, f"python={TARGET_PYTHON}"]).encode()).hexdigest()
    tar_path = out_dir / f"{lock_hash}.tar"
    with tarfile.open(tar_path, "w") as tar:
        for wheel in wheels:
            tar.add(wheel, arcname=wheel.name)
    return Wheelhouse(tar=tar_path, lock=lock, lock_hash=lock_hash)


@pytest.fixture(scope="session")
def wheelhouse(iris_bundles: IrisBundles, tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    requirements = sorted({*iris_bundles.requirements, *runtime_server_requirements()})
    return make_wheelhouse(requirements, tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture(scope="session")
def runtime_only_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    """The wheelhouse of a model without third-party imports: the model server's own pins."""
    return make_wheelhouse(runtime_server_requirements(), tmp_path_factory.mktemp("wheelhouse"))


def blob_url_with_prefix(blob_url: str, prefix: str) -> str:
    base, _, query = blob_url.partition("?")
    return f"{base.rstrip('/')}/{prefix}" + (f"?{query}" if query else "")


@dataclass
class RunningBuilder:
    service: BuilderService
    blobs: BlobStore
    bus: Bus
    settings: BuilderSettings
    owner: str
    events: list[Envelope]


@pytest.fixture(scope="module")
def builder_settings_overrides() -> dict[str, Any]:
    """Settings a test module changes for its builder (test_builder_buildah.py: the backend)."""
    return {}


@pytest.fixture(scope="module")
async def builder(
    module_database_url: str,
    s3_services: Any,
    services: Any,
    registry: str,
    base_image: str,
    tmp_path_factory: pytest.TempPathFactory,
    builder_settings_overrides: dict[str, Any],
) -> AsyncIterator[RunningBuilder]:
    run_id = uuid.uuid4().hex[:8]
    settings = BuilderSettings(
        database_url=module_database_url,
        bus_url="memory://",
        blob_url=blob_url_with_prefix(s3_services.blob_url, f"builder-it-{run_id}"),
        registry=registry,
        # The shared registry is behind token auth: the builder mints its push tokens with this.
        registry_token_key_file=services.registry_token_key_file,
        base_image=base_image,
        work_dir=tmp_path_factory.mktemp("builder-work"),
        max_concurrent_builds=2,
        log_json=False,
        **builder_settings_overrides,
    )
    service = build_service(settings)
    events: list[Envelope] = []

    async def observe(event: Envelope) -> None:
        events.append(event)

    await service.bus.subscribe("test.observer", ["modelbay.model.#"], observe)
    await service.start()
    try:
        yield RunningBuilder(
            service=service,
            blobs=service.blob_store,
            bus=service.bus,
            settings=settings,
            owner=f"it{run_id}",
            events=events,
        )
    finally:
        await service.stop()
        _remove_test_tags(registry, f"it{run_id}")


def _remove_test_tags(registry: str, owner: str) -> None:
    """Drop the images this module made. Pruning their untagged parents only costs the cheap
    final-stage steps: the dependency stage is its own chain and stays cached."""
    import docker

    client = docker.from_env()
    try:
        for image in client.images.list(name=f"{registry}/{owner}/*"):
            for tag in image.tags:
                client.images.remove(tag)
    finally:
        client.close()


@pytest.fixture(scope="session")
def publish() -> Any:
    """`await publish(builder, bundle, wheelhouse, version=, python_version=)`."""
    return publish_resolved


async def publish_resolved(
    builder: RunningBuilder,
    bundle: Path,
    wheelhouse: Wheelhouse,
    *,
    version: int,
    python_version: str,
    name: str = "iris",
) -> None:
    """Store the inputs like onboarding does and announce them like the resolver does."""
    sha256 = hashlib.sha256(await asyncio.to_thread(bundle.read_bytes)).hexdigest()
    bundle_key = keys.bundle_key(sha256)
    wheelhouse_key = keys.wheelhouse_key(wheelhouse.lock_hash)
    await builder.blobs.put_path(bundle_key, bundle)
    if not await builder.blobs.exists(wheelhouse_key):
        await builder.blobs.put_path(wheelhouse_key, wheelhouse.tar)
    event = DependenciesResolved(
        owner=builder.owner,
        name=name,
        version=version,
        bundle_uri=bundle_key,
        bundle_sha256=sha256,
        python_version=python_version,
        lock=wheelhouse.lock,
        lock_hash=wheelhouse.lock_hash,
        wheelhouse_uri=wheelhouse_key,
    )
    await builder.bus.publish(envelope(event, source="/modelbay/onboarding"))
