"""The builder's local-process mode (no Docker) against real Postgres, a filesystem blob store
and a real wheelhouse: the Fig. 2 iris model is served from a venv as a child process.

One service for the module; the tests run in order: v1 gets a new venv and answers predictions
equal to the model's own; v2 (same lock) reuses that venv; a bundle with a wrong recorded sample
ends in ValidationFailed and leaves no server behind; stopping the builder stops every server,
and a restarted builder serves the validated versions again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from modelbay_builder.local.process import LocalProcessRunner
from modelbay_builder.local.refs import local_digest
from modelbay_builder.main import BuilderService, build_service
from modelbay_builder.served import ServedModel
from modelbay_builder.settings import BuilderSettings
from modelbay_common.blob import BlobStore
from modelbay_common.bus.port import Bus
from modelbay_common.events import Envelope, ImageBuilt, ValidationFailed
from modelbay_common.refs import served_url
from modelbay_runtime.loader import load_bundle
from sklearn.datasets import load_iris

pytestmark = pytest.mark.slow

SAFETY_TIMEOUT = 900.0  # a bound so that a hang fails the test, not an assertion on speed
RESTART_BOUND = 180.0  # the same kind of bound for restarting two servers from existing venvs
REF = re.compile(r"^local-process://127\.0\.0\.1:(\d+)/(?P<owner>[^/]+)/iris/(?P<version>\d+)$")


@dataclass
class RunningBuilder:
    """What the builder conftest's `publish` needs (its own fixture starts the Docker mode)."""

    service: BuilderService
    blobs: BlobStore
    bus: Bus
    owner: str
    events: list[Envelope]
    served: list[ServedModel]


@dataclass
class LocalBuilder:
    running: RunningBuilder
    settings: BuilderSettings
    work_dir: Path

    @property
    def service(self) -> BuilderService:
        return self.running.service

    @property
    def runner(self) -> LocalProcessRunner:
        runner = self.service.runner
        assert isinstance(runner, LocalProcessRunner)
        return runner


async def start_builder(settings: BuilderSettings, owner: str) -> RunningBuilder:
    service = build_service(settings)
    assert service.mode == "local-process"
    events: list[Envelope] = []
    served: list[ServedModel] = []
    service.on_served(served.append)  # the public hook the embedded mode prints URLs from

    async def observe(event: Envelope) -> None:
        events.append(event)

    await service.bus.subscribe("test.observer", ["modelbay.model.#"], observe)
    await service.start()
    return RunningBuilder(service, service.blob_store, service.bus, owner, events, served)


@pytest.fixture(scope="module")
async def local_builder(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LocalBuilder]:
    root = tmp_path_factory.mktemp("local-process")
    settings = BuilderSettings(
        database_url=module_database_url,
        bus_url="memory://",
        blob_url=(root / "blobs").as_uri(),
        work_dir=root / "work",
        mode="local-process",
        worker_poll_seconds=0.2,
        outbox_poll_seconds=0.1,
        log_json=False,
    )
    holder = LocalBuilder(await start_builder(settings, "alice"), settings, root / "work")
    try:
        yield holder
    finally:
        await holder.service.stop()
        assert model_server_pids(holder.work_dir) == [], "model servers outlived the builder"


async def outcome(builder: RunningBuilder, name: str, version: int) -> Envelope:
    async def poll() -> Envelope:
        while True:
            for event in builder.events:
                data = event.data
                if (
                    event.source == "/modelbay/builder"
                    and data.name == name
                    and data.version == version
                ):
                    return event
            await asyncio.sleep(0.2)

    return await asyncio.wait_for(poll(), SAFETY_TIMEOUT)


def model_server_pids(work_dir: Path) -> list[int]:
    """Live processes running a model server from this test's work directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            continue
        if state == "Z":
            continue
        if b"modelbay_runtime" in cmdline and any(str(work_dir).encode() in a for a in cmdline):
            found.append(int(entry.name))
    return sorted(found)


def iris_rows() -> dict[str, list[float]]:
    """Every flower of the data set, not just the recorded sample."""
    data = load_iris().data
    names = ("sepal_length", "sepal_width", "petal_length", "petal_width")
    return {name: [float(row[i]) for row in data] for i, name in enumerate(names)}


def own_prediction(bundle: Path, tmp: Path, payload: dict[str, Any]) -> dict[str, Any]:
    target = tmp / "own-bundle"
    with tarfile.open(bundle) as tar:
        tar.extractall(target, filter="data")
    return load_bundle(target).methods["classify"].call(payload)


@pytest.fixture(scope="module")
async def built_v1(
    local_builder: LocalBuilder, iris_bundles: Any, wheelhouse: Any, publish: Any
) -> ImageBuilt:
    await publish(
        local_builder.running,
        iris_bundles.v1,
        wheelhouse,
        version=1,
        python_version=iris_bundles.python_version,
    )
    event = await outcome(local_builder.running, "iris", 1)
    assert event.type == ImageBuilt.type, event.data
    return event.event_as(ImageBuilt)


async def test_v1_is_served_from_a_new_venv_and_predicts_like_the_model(
    local_builder: LocalBuilder,
    built_v1: ImageBuilt,
    iris_bundles: Any,
    wheelhouse: Any,
    tmp_path: Path,
) -> None:
    match = REF.match(built_v1.image_ref)
    assert match, built_v1.image_ref
    assert (match["owner"], match["version"]) == ("alice", "1")
    bundle_sha = hashlib.sha256(iris_bundles.v1.read_bytes()).hexdigest()
    assert built_v1.image_digest == local_digest(wheelhouse.lock_hash, bundle_sha)
    assert built_v1.dependency_layer_cached is False
    assert built_v1.image_size > 50_000_000  # numpy + scipy + scikit-learn + runtime + bundle
    venvs = sorted(p.name for p in (local_builder.work_dir / "venvs").iterdir())
    assert venvs == [wheelhouse.lock_hash]
    bundle_dir = local_builder.work_dir / "models" / "alice" / "iris" / "1"
    assert (bundle_dir / "manifest.json").is_file()

    url = served_url(built_v1.image_ref)
    assert url is not None
    payload = iris_rows()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        response = await client.post("/model/methods/classify", json=payload)
        bad = await client.post("/model/methods/classify", json={"sepal_length": "x"})
    assert response.status_code == 200, response.text
    predicted = response.json()
    assert predicted == own_prediction(iris_bundles.v1, tmp_path, payload)
    assert len(predicted["IrisType"]) == 150
    assert 400 <= bad.status_code < 500

    server = local_builder.runner.processes.get("alice/iris/1")
    assert server is not None
    assert ServedModel("alice", "iris", 1, url) in local_builder.running.served
    assert os.getpgid(server.process.pid) == server.process.pid, "not its own process group"

    sbom = json.loads(await local_builder.running.blobs.get_bytes(built_v1.sbom_uri or ""))
    assert sbom["metadata"]["component"]["type"] == "application"
    purls = {component["purl"].split("@")[0] for component in sbom["components"]}
    assert {"pkg:pypi/scikit-learn", "pkg:pypi/numpy", "pkg:pypi/modelbay-runtime"} <= purls


async def test_v2_with_the_same_lock_reuses_the_venv(
    local_builder: LocalBuilder,
    built_v1: ImageBuilt,
    iris_bundles: Any,
    wheelhouse: Any,
    publish: Any,
) -> None:
    venv = local_builder.work_dir / "venvs" / wheelhouse.lock_hash
    marker_before = (venv / ".modelbay-ready").stat().st_mtime_ns
    await publish(
        local_builder.running,
        iris_bundles.v2,
        wheelhouse,
        version=2,
        python_version=iris_bundles.python_version,
    )
    event = await outcome(local_builder.running, "iris", 2)
    assert event.type == ImageBuilt.type, event.data
    built = event.event_as(ImageBuilt)
    assert built.dependency_layer_cached is True
    assert (venv / ".modelbay-ready").stat().st_mtime_ns == marker_before
    assert len(list((local_builder.work_dir / "venvs").iterdir())) == 1
    assert built.image_digest != built_v1.image_digest  # other bundle, same lock

    for ref in (built_v1.image_ref, built.image_ref):
        url = served_url(ref)
        assert url is not None
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            metadata = await client.get("/model/metadata")
        assert metadata.status_code == 200
    assert served_url(built.image_ref) != served_url(built_v1.image_ref)


async def test_a_wrong_sample_fails_validation_and_leaves_no_server(
    local_builder: LocalBuilder,
    built_v1: ImageBuilt,
    iris_bundles: Any,
    wheelhouse: Any,
    publish: Any,
) -> None:
    servers_before = model_server_pids(local_builder.work_dir)
    await publish(
        local_builder.running,
        iris_bundles.wrong_sample,
        wheelhouse,
        version=1,
        python_version=iris_bundles.python_version,
        name="wrong",
    )
    event = await outcome(local_builder.running, "wrong", 1)
    failed = event.event_as(ValidationFailed)
    assert failed.method == "classify"
    assert failed.sample_index == 0
    assert "different output at $.IrisType" in failed.reason
    assert local_builder.runner.processes.get("alice/wrong/1") is None
    assert model_server_pids(local_builder.work_dir) == servers_before
    assert not (local_builder.work_dir / "models" / "alice" / "wrong" / "1").exists()


async def test_stopping_stops_every_server_and_a_restart_serves_them_again(
    local_builder: LocalBuilder, built_v1: ImageBuilt
) -> None:
    urls = sorted(
        url
        for event in local_builder.running.events
        if event.type == ImageBuilt.type
        and (url := served_url(event.event_as(ImageBuilt).image_ref)) is not None
    )
    assert len(urls) == 2  # iris 1 and 2
    assert len(model_server_pids(local_builder.work_dir)) == 2
    await local_builder.service.stop()
    assert model_server_pids(local_builder.work_dir) == []

    local_builder.running = await start_builder(local_builder.settings, "alice")

    async def answering(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            while True:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)

    # The same ports as before, so the image_refs in the catalog stay true.
    await asyncio.wait_for(asyncio.gather(*map(answering, urls)), RESTART_BOUND)
    assert len(model_server_pids(local_builder.work_dir)) == 2
