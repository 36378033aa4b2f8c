"""An ONNX bundle served by the model server in-process (ASGI, no network): JSON, protobuf and
OIP v2 answers equal onnxruntime's own, concurrent requests are merged by the batcher and split back
exactly, and a request that does not fit the graph is a 4xx naming the field."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import numpy as np
import onnx_graphs
from modelbay import Model, dump
from modelbay_runtime.codec import load_message_classes
from modelbay_runtime.loader import load_bundle
from modelbay_runtime.server.app import ModelServer
from modelbay_runtime.server.settings import RuntimeSettings

PROTOBUF = "application/x-protobuf"
ROWS = np.array([[0.5, -1.0, 2.0, 0.25], [1.5, 0.0, -0.5, 3.0], [0.0, 0.1, 0.2, 0.3]], np.float32)


@asynccontextmanager
async def served(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    source = onnx_graphs.save(onnx_graphs.linear_scorer(), tmp_path / "scorer.onnx")
    bundle = dump(Model.from_onnx(source, name="scorer"), "scorer", tmp_path / "bundle")
    server = ModelServer(RuntimeSettings(), lambda: load_bundle(bundle))
    await server.startup()
    await server.wait_loaded()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=server), base_url="http://model"
        ) as client:
            yield client, source
    finally:
        await server.shutdown()


def expected(source: Path, rows: np.ndarray) -> dict[str, list[object]]:
    outputs = onnx_graphs.in_process_outputs(source, rows)
    return {"scores": outputs["scores"].tolist(), "label": outputs["label"].tolist()}


async def test_json_answers_equal_onnxruntime_in_process(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, source):
        response = await client.post("/model/methods/predict", json={"features_in": ROWS.tolist()})
    assert response.status_code == 200, response.text
    assert response.json() == expected(source, ROWS)  # float32 → JSON → same numbers


async def test_protobuf_answers_equal_onnxruntime_in_process(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, source):
        classes = load_message_classes((tmp_path / "bundle" / "model.descriptor.pb").read_bytes())
        request = classes["modelbay.scorer.PredictIn"]()
        request.features_in.shape.extend(ROWS.shape)
        request.features_in.values.extend(ROWS.ravel().tolist())
        response = await client.post(
            "/model/methods/predict",
            content=request.SerializeToString(),
            headers={"Content-Type": PROTOBUF, "Accept": PROTOBUF},
        )
    assert response.status_code == 200, response.text
    answer = classes["modelbay.scorer.PredictOut"].FromString(response.content)
    want = onnx_graphs.in_process_outputs(source, ROWS)
    assert list(answer.scores.shape) == [3, 3]
    assert np.array_equal(np.array(answer.scores.values, np.float32), want["scores"].ravel())
    assert list(answer.label) == want["label"].tolist()


async def test_open_inference_protocol_answers_equal_onnxruntime(tmp_path: Path) -> None:
    tensor = {"name": "features_in", "datatype": "FP32", "shape": [3, 4]}
    async with served(tmp_path) as (client, source):
        metadata = (await client.get("/v2/models/scorer")).json()
        response = await client.post(
            "/v2/models/scorer/infer",
            json={"inputs": [{**tensor, "data": ROWS.ravel().tolist()}]},
        )
        wrong = await client.post(
            "/v2/models/scorer/infer",
            json={"inputs": [{**tensor, "shape": [4, 4], "data": ROWS.ravel().tolist()}]},
        )
    assert metadata["inputs"] == [{"name": "features_in", "datatype": "FP32", "shape": [-1, -1]}]
    assert {o["name"]: o["shape"] for o in metadata["outputs"]} == {
        "scores": [-1, -1],
        "label": [-1],
    }
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    want = onnx_graphs.in_process_outputs(source, ROWS)
    assert outputs["scores"]["shape"] == [3, 3]
    assert outputs["scores"]["data"] == want["scores"].ravel().tolist()
    assert outputs["label"] == {
        "name": "label",
        "datatype": "INT64",
        "shape": [3],
        "data": want["label"].tolist(),
    }
    assert wrong.status_code == 400
    assert "shape [4, 4] does not fit 12 data elements" in wrong.json()["detail"]


async def test_concurrent_requests_are_merged_and_split_back_exactly(tmp_path: Path) -> None:
    rows = np.random.default_rng(7).uniform(-2, 2, size=(24, 4)).astype(np.float32)
    async with served(tmp_path) as (client, source):
        answers = await asyncio.gather(
            *(
                client.post("/model/methods/predict", json={"features_in": [row.tolist()]})
                for row in rows
            )
        )
        metrics = (await client.get("/metrics")).text
    assert [a.status_code for a in answers] == [200] * len(rows)
    for row, answer in zip(rows, answers, strict=True):
        assert answer.json() == expected(source, row[np.newaxis, :])
    assert "modelbay_batch" in metrics  # the batcher served them


async def test_a_request_that_does_not_fit_the_graph_is_a_4xx_naming_the_field(
    tmp_path: Path,
) -> None:
    async with served(tmp_path) as (client, _):
        wrong_width = await client.post(
            "/model/methods/predict", json={"features_in": [[1.0, 2.0, 3.0]]}
        )
        wrong_field = await client.post("/model/methods/predict", json={"pixels": [[1.0]]})
    assert wrong_width.status_code == 422, wrong_width.text
    assert wrong_width.headers["content-type"] == "application/problem+json"
    assert "features_in" in wrong_width.json()["detail"]
    assert "dimension 1 must have size 4" in wrong_width.json()["detail"]
    assert wrong_field.status_code == 422
    assert "features_in" in wrong_field.json()["detail"]  # the column the graph needs


async def test_inputs_with_different_row_counts_are_a_4xx(tmp_path: Path) -> None:
    """Two inputs on one symbolic batch axis: onnxruntime itself would fail inside the kernel
    (a 500); the server's row check of batchable methods refuses it first, naming the field."""
    graph = onnx_graphs.two_inputs_sum()
    source = onnx_graphs.save(graph, tmp_path / "sum.onnx")
    bundle = dump(Model.from_onnx(source, name="sum"), "sum", tmp_path / "bundle")
    server = ModelServer(RuntimeSettings(), lambda: load_bundle(bundle))
    await server.startup()
    await server.wait_loaded()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=server), base_url="http://model"
        ) as client:
            good = await client.post("/model/methods/predict", json={"a": [[1, 2]], "b": [[3, 4]]})
            ragged = await client.post(
                "/model/methods/predict", json={"a": [[1, 2], [3, 4]], "b": [[3, 4]]}
            )
    finally:
        await server.shutdown()
    assert good.json() == {"total": [[4.0, 6.0]]}
    assert ragged.status_code == 422, ragged.text
    assert ragged.headers["content-type"] == "application/problem+json"
