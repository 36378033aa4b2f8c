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
from local_builders import (
    LocalBuilder,
    build_outcome,
    local_process_settings,
    model_server_pids,
    start_local_builder,
)
from modelbay_builder.local.refs import local_digest
from modelbay_builder.served import ServedModel
from modelbay_builder.settings import BuilderSettings
from modelbay_common.events import ImageBuilt, ValidationFailed
from modelbay_common.refs import served_url
from modelbay_runtime.loader import load_bundle
from sklearn.datasets import load_iris

pytestmark = pytest.mark.slow

RESTART_BOUND = 180.0  # the same kind of bound for restarting two servers from existing venvs
REF = re.compile(r"^local-process://127\.0\.0\.1:(\d+)/(?P<owner>[^/]+)/iris/(?P<version>\d+)$")


@dataclass
class RestartableBuilder(LocalBuilder):
    settings: BuilderSettings  # to start the builder again


@pytest.fixture(scope="module")
async def local_builder(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RestartableBuilder]:
    root = tmp_path_factory.mktemp("local-process")
    settings = local_process_settings(module_database_url, root)
    running = await start_local_builder(settings, "alice")
    holder = RestartableBuilder(running, root / "work", settings)
    try:
        yield holder
    finally:
        await holder.service.stop()
        assert model_server_pids(holder.work_dir) == [], "model servers outlived the builder"


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
    local_builder: RestartableBuilder, iris_bundles: Any, wheelhouse: Any, publish: Any
) -> ImageBuilt:
    await publish(
        local_builder.running,
        iris_bundles.v1,
        wheelhouse,
        version=1,
        python_version=iris_bundles.python_version,
    )
    event = await build_outcome(local_builder.running, "iris", 1)
    assert event.type == ImageBuilt.type, event.data
    return event.event_as(ImageBuilt)


async def test_v1_is_served_from_a_new_venv_and_predicts_like_the_model(
    local_builder: RestartableBuilder,
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
    local_builder: RestartableBuilder,
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
    event = await build_outcome(local_builder.running, "iris", 2)
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
    local_builder: RestartableBuilder,
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
    event = await build_outcome(local_builder.running, "wrong", 1)
    failed = event.event_as(ValidationFailed)
    assert failed.method == "classify"
    assert failed.sample_index == 0
    assert "different output at $.IrisType" in failed.reason
    assert local_builder.runner.processes.get("alice/wrong/1") is None
    assert model_server_pids(local_builder.work_dir) == servers_before
    assert not (local_builder.work_dir / "models" / "alice" / "wrong" / "1").exists()


async def test_stopping_stops_every_server_and_a_restart_serves_them_again(
    local_builder: RestartableBuilder, built_v1: ImageBuilt
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

    local_builder.running = await start_local_builder(local_builder.settings, "alice")

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
