"""The PyTorch route of docs/pytorch.md without torch in the project: a graph that
`torch.onnx.export` wrote (`tests/fixtures/pytorch/`, made by
`examples/pytorch-onnx/make_test_fixture.py`) passes the SDK and onboarding's upload checks as it
is, and the model server answers over JSON and protobuf with torch's own probabilities (within
float32 rounding: onnxruntime's kernels are not torch's)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import numpy as np
from modelbay import Model, dump
from modelbay_onboarding.validation.archive import ArchiveLimits
from modelbay_onboarding.validation.bundle import BundleRules, validate_bundle
from modelbay_onboarding.validation.onnx_check import OnnxRules
from modelbay_runtime.codec import load_message_classes
from modelbay_runtime.loader import load_bundle
from modelbay_runtime.server.app import ModelServer
from modelbay_runtime.server.settings import RuntimeSettings
from onboarding_bundles import archive

FIXTURE = Path(__file__).parents[2] / "fixtures" / "pytorch"
GRAPH = FIXTURE / "iris_mlp.onnx"
TORCH = json.loads((FIXTURE / "iris_mlp.torch-answers.json").read_text())
ROWS = np.array(TORCH["features"], np.float32)
TORCH_PROBABILITIES = np.array(TORCH["probabilities"], np.float32)
TOLERANCE = 1e-5  # what push_onnx.py accepts between torch and onnxruntime
PROTOBUF = "application/x-protobuf"


def bundle_of_the_export(tmp_path: Path) -> Path:
    model = Model.from_onnx(GRAPH, name="iris_mlp", samples=[{"features": ROWS[:3].tolist()}])
    return dump(model, "iris_mlp", tmp_path / "bundle")


@asynccontextmanager
async def served(bundle: Path) -> AsyncIterator[httpx.AsyncClient]:
    server = ModelServer(RuntimeSettings(), lambda: load_bundle(bundle))
    await server.startup()
    await server.wait_loaded()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=server), base_url="http://model"
        ) as client:
            yield client
    finally:
        await server.shutdown()


def test_the_export_passes_the_sdk_and_the_upload_checks(tmp_path: Path) -> None:
    bundle = bundle_of_the_export(tmp_path)
    manifest = json.loads((bundle / "manifest.json").read_text())
    limits = ArchiveLimits(
        max_files=100,
        max_unpacked_bytes=1 << 30,
        max_expansion_ratio=100.0,
        expansion_ratio_floor_bytes=1 << 20,
        max_metadata_file_bytes=1 << 20,
    )
    rules = BundleRules(limits, ("3.11",), require_samples=True, onnx=OnnxRules())
    validated = validate_bundle(archive(bundle, tmp_path / "iris_mlp.tar.gz"), rules)

    assert manifest["onnx"]["producer"].startswith("pytorch")
    assert manifest["onnx"]["inputs"] == {"features": "features"}
    assert manifest["onnx"]["outputs"] == {"probabilities": "probabilities"}
    assert validated.methods == ("predict",)
    assert {r.split("==")[0] for r in validated.requirements} == {"numpy", "onnxruntime"}
    assert validated.warnings == ()


async def test_json_answers_are_torchs_probabilities(tmp_path: Path) -> None:
    async with served(bundle_of_the_export(tmp_path)) as client:
        response = await client.post("/model/methods/predict", json={"features": ROWS.tolist()})
    assert response.status_code == 200, response.text
    served_probabilities = np.array(response.json()["probabilities"], np.float32)
    assert served_probabilities.shape == TORCH_PROBABILITIES.shape
    assert np.abs(served_probabilities - TORCH_PROBABILITIES).max() <= TOLERANCE
    assert (
        served_probabilities.argmax(axis=1).tolist() == TORCH_PROBABILITIES.argmax(axis=1).tolist()
    )


async def test_protobuf_answers_are_torchs_probabilities(tmp_path: Path) -> None:
    bundle = bundle_of_the_export(tmp_path)
    classes = load_message_classes((bundle / "model.descriptor.pb").read_bytes())
    request = classes["modelbay.iris_mlp.PredictIn"]()
    request.features.shape.extend(ROWS.shape)
    request.features.values.extend(ROWS.ravel().tolist())
    async with served(bundle) as client:
        response = await client.post(
            "/model/methods/predict",
            content=request.SerializeToString(),
            headers={"Content-Type": PROTOBUF, "Accept": PROTOBUF},
        )
    assert response.status_code == 200, response.text
    answer = classes["modelbay.iris_mlp.PredictOut"].FromString(response.content)
    assert list(answer.probabilities.shape) == list(TORCH_PROBABILITIES.shape)
    values = np.array(answer.probabilities.values, np.float32).reshape(TORCH_PROBABILITIES.shape)
    assert np.abs(values - TORCH_PROBABILITIES).max() <= TOLERANCE
