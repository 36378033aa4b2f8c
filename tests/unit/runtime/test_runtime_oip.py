"""Open Inference Protocol v2 in-process: JSON and binary tensors, model naming, errors.
(The third-party client, tritonclient, is exercised against a real server in the
integration tier.)"""

from __future__ import annotations

import json
import struct
from typing import Any

from runtime_fakes import FEATURES, expected_labels, serve_fake

ROWS = [(5.1, 3.5, 1.4, 0.2), (6.7, 3.0, 5.2, 2.3), (5.9, 3.0, 4.2, 1.5)]


def json_inputs(rows: list[tuple[float, ...]]) -> list[dict[str, Any]]:
    return [
        {"name": n, "datatype": "FP64", "shape": [len(rows)], "data": [r[i] for r in rows]}
        for i, n in enumerate(FEATURES)
    ]


async def test_server_and_model_metadata() -> None:
    async with serve_fake() as (_, client, _fake):
        server = (await client.get("/v2")).json()
        live = await client.get("/v2/health/live")
        ready = await client.get("/v2/health/ready")
        model = (await client.get("/v2/models/iris")).json()
        model_ready = await client.get("/v2/models/iris/ready")
        explicit = (await client.get("/v2/models/iris.misaligned")).json()
    assert "binary_tensor_data" in server["extensions"]
    assert live.status_code == ready.status_code == model_ready.status_code == 200
    assert model["name"] == "iris"
    assert model["versions"] == ["3"]
    assert model["inputs"] == [{"name": n, "datatype": "FP64", "shape": [-1]} for n in FEATURES]
    assert model["outputs"] == [{"name": "IrisType", "datatype": "INT64", "shape": [-1]}]
    assert explicit["inputs"] == [{"name": "x", "datatype": "FP64", "shape": [-1]}]


async def test_json_inference() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post(
            "/v2/models/iris/infer", json={"id": "r1", "inputs": json_inputs(ROWS)}
        )
    body = response.json()
    assert response.status_code == 200
    assert body["id"] == "r1"
    assert body["model_name"] == "iris"
    assert body["outputs"] == [
        {"name": "IrisType", "datatype": "INT64", "shape": [3], "data": expected_labels(ROWS)}
    ]


async def test_versioned_path_and_column_vector_shape() -> None:
    inputs = json_inputs(ROWS)
    for tensor in inputs:
        tensor["shape"] = [len(ROWS), 1]
        tensor["datatype"] = "FP32"
    async with serve_fake() as (_, client, _fake):
        good = await client.post("/v2/models/iris/versions/3/infer", json={"inputs": inputs})
        wrong_version = await client.post(
            "/v2/models/iris/versions/9/infer", json={"inputs": inputs}
        )
    assert good.json()["outputs"][0]["data"] == expected_labels(ROWS)
    assert wrong_version.status_code == 404


async def test_binary_tensors_in_and_out() -> None:
    header_inputs = []
    blobs = b""
    for i, name in enumerate(FEATURES):
        blob = struct.pack(f"<{len(ROWS)}d", *(r[i] for r in ROWS))
        header_inputs.append(
            {
                "name": name,
                "datatype": "FP64",
                "shape": [len(ROWS)],
                "parameters": {"binary_data_size": len(blob)},
            }
        )
        blobs += blob
    header = json.dumps(
        {
            "inputs": header_inputs,
            "outputs": [{"name": "IrisType", "parameters": {"binary_data": True}}],
        }
    ).encode()
    async with serve_fake() as (_, client, _fake):
        response = await client.post(
            "/v2/models/iris/infer",
            content=header + blobs,
            headers={
                "inference-header-content-length": str(len(header)),
                "content-type": "application/octet-stream",
            },
        )
    assert response.status_code == 200, response.text
    cut = int(response.headers["inference-header-content-length"])
    document = json.loads(response.content[:cut])
    output = document["outputs"][0]
    assert output["parameters"]["binary_data_size"] == 8 * len(ROWS)
    labels = list(struct.unpack(f"<{len(ROWS)}q", response.content[cut:]))
    assert labels == expected_labels(ROWS)


async def test_oip_errors_are_problems_with_an_error_member() -> None:
    async with serve_fake() as (_, client, _fake):
        unknown_model = await client.post("/v2/models/tulip/infer", json={"inputs": []})
        not_tensors = await client.get("/v2/models/iris.describe")
        missing = await client.post("/v2/models/iris/infer", json={"inputs": json_inputs(ROWS)[:3]})
        bad_shape = json_inputs(ROWS)
        bad_shape[0]["shape"] = [7]
        shape = await client.post("/v2/models/iris/infer", json={"inputs": bad_shape})
        bad_type = json_inputs(ROWS)
        bad_type[1]["datatype"] = "BYTES"
        datatype = await client.post("/v2/models/iris/infer", json={"inputs": bad_type})
        broken = await client.post(
            "/v2/models/iris/infer",
            content=b"{nope",
            headers={"content-type": "application/json"},
        )
        truncated = await client.post(
            "/v2/models/iris/infer",
            content=b'{"inputs": []}',
            headers={"inference-header-content-length": "999"},
        )
    for response in (unknown_model, not_tensors):
        assert response.status_code == 404
    for response in (missing, shape, datatype, broken, truncated):
        assert response.status_code == 400, response.text
    for response in (unknown_model, not_tensors, missing, shape, datatype, broken, truncated):
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["error"]
    assert missing.json()["field"] == "petal_width"
    assert shape.json()["field"] == "sepal_length"
    assert datatype.json()["field"] == "sepal_width"
