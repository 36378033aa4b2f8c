"""Bad input never yields a 5xx: every case is a 4xx application/problem+json naming the problem
(and the field, where there is one); a model failure is a generic 500 with details only in the
log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from runtime_fakes import iris_payload, serve_fake

ROWS = [(5.1, 3.5, 1.4, 0.2), (6.7, 3.0, 5.2, 2.3)]


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].endswith("/" + kind)
    assert body["title"]
    return body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**iris_payload(ROWS), "sepal_length": ["wide", 1.0]}, "sepal_length[0]"),
        ({**iris_payload(ROWS), "petal_width": 3.0}, "petal_width"),
        ({**iris_payload(ROWS), "colour": ["red", "blue"]}, "colour"),
    ],
    ids=["wrong-element-type", "scalar-for-column", "unknown-field"],
)
async def test_wrong_input_is_422_naming_the_field(payload: dict[str, Any], field: str) -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post("/model/methods/classify", json=payload)
    body = assert_problem(response, 422, "invalid-input")
    assert body["field"] == field
    assert field in body["detail"]


async def test_wrong_type_for_a_keyword_field_is_422_naming_it() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post(
            "/model/methods/describe", json={"text": "a", "loud": True, "count": "many"}
        )
    body = assert_problem(response, 422, "invalid-input")
    assert body["field"] == "count"


@pytest.mark.parametrize("method", ["describe", "classify"])
async def test_missing_required_field_is_422_naming_it(method: str) -> None:
    payloads = {"describe": {"text": "a", "loud": True}, "classify": iris_payload(ROWS)}
    payload = payloads[method]
    payload.pop("petal_width", None)
    async with serve_fake() as (_, client, _fake):
        response = await client.post(f"/model/methods/{method}", json=payload)
    body = assert_problem(response, 422, "invalid-input")
    assert body["field"] == ("count" if method == "describe" else "petal_width")
    assert "missing" in body["detail"]


async def test_body_that_is_not_an_object_is_422() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post("/model/methods/classify", json=[1, 2, 3])
    assert_problem(response, 422, "invalid-input")


async def test_malformed_json_is_400() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post(
            "/model/methods/classify",
            content=b'{"sepal_length": [1.0,',
            headers={"content-type": "application/json"},
        )
    body = assert_problem(response, 400, "malformed-body")
    assert "JSON" in body["detail"]


async def test_invalid_utf8_json_is_400() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post(
            "/model/methods/classify",
            content=b'{"a": "\xff\xfe"}',
            headers={"content-type": "application/json"},
        )
    assert_problem(response, 400, "malformed-body")


async def test_malformed_protobuf_is_400() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post(
            "/model/methods/classify",
            content=b"\x0a\xff\xff\xff\xff\x0f garbage",
            headers={"content-type": "application/x-protobuf"},
        )
    body = assert_problem(response, 400, "malformed-body")
    assert "iris.IrisInput" in body["detail"]


async def test_wrong_content_type_is_415() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post(
            "/model/methods/classify",
            content=b"sepal_length=1",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert_problem(response, 415, "unsupported-media-type")


async def test_unknown_method_is_404_listing_the_methods() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post("/model/methods/predict", json={})
    body = assert_problem(response, 404, "unknown-method")
    assert "classify" in body["detail"]


async def test_declared_huge_body_is_413_before_reading() -> None:
    async with serve_fake(max_body_bytes=1024) as (_, client, _fake):
        response = await client.post(
            "/model/methods/classify",
            content=b"{" + b" " * 5000 + b"}",
            headers={"content-type": "application/json"},
        )
    body = assert_problem(response, 413, "body-too-large")
    assert "1024" in body["detail"]


async def test_streamed_body_is_cut_off_at_the_limit() -> None:
    chunks_sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        for _ in range(10_000):  # 10 MB if it were read to the end
            chunks_sent += 1
            yield b" " * 1024

    async with serve_fake(max_body_bytes=4096) as (_, client, _fake):
        response = await client.post(
            "/model/methods/classify",
            content=endless(),
            headers={"content-type": "application/json"},
        )
    assert_problem(response, 413, "body-too-large")
    assert "content-length" not in response.request.headers  # really chunked
    assert chunks_sent < 10_000


async def test_model_exception_is_generic_500_with_traceback_in_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="modelbay_runtime.server")
    async with serve_fake() as (_, client, _fake):
        response = await client.post("/model/methods/explode", json={"x": [1.0]})
    body = assert_problem(response, 500, "model-error")
    assert "0xSECRET" not in response.text
    assert "boom" not in response.text
    assert "server log" in body["detail"]
    logged = "\n".join(r.getMessage() + str(r.exc_text or r.exc_info) for r in caplog.records)
    assert "explode" in logged
    assert "0xSECRET" in logged


async def test_protobuf_with_wrong_wire_type_for_a_field_is_4xx() -> None:
    # field 1 (sepal_length, repeated double) sent as a varint: parseable wire format, but the
    # wrong type; protobuf treats it as an unknown field, so the model sees no rows at all.
    async with serve_fake() as (_, client, _fake):
        response = await client.post(
            "/model/methods/classify",
            content=b"\x08\x96\x01",
            headers={"content-type": "application/x-protobuf"},
        )
    assert response.status_code < 500


async def test_row_wise_method_refuses_ragged_columns_in_both_encodings() -> None:
    from test_runtime_api import message_class

    ragged = iris_payload(ROWS)
    ragged["sepal_width"] = ragged["sepal_width"][:1]
    async with serve_fake() as (_, client, fake):
        as_json = await client.post("/model/methods/classify", json=ragged)
        request_class = message_class(fake.descriptor_set, "iris.IrisInput")
        as_protobuf = await client.post(
            "/model/methods/classify",
            content=request_class(**ragged).SerializeToString(),
            headers={"content-type": "application/x-protobuf"},
        )
    for response in (as_json, as_protobuf):
        body = assert_problem(response, 422, "invalid-input")
        assert body["field"] == "sepal_width"
        assert "one value per row" in body["detail"]


@pytest.mark.parametrize("protocol", ["rest", "oip"])
async def test_an_empty_batch_is_422_not_a_model_error(protocol: str) -> None:
    # Issue 11, defect 7: zero rows reached the model, which raised, and the caller got a 500
    # `model-error`. A row-wise method needs at least one row (docs/runtime.md, "Empty batches").
    async with serve_fake() as (_, client, _fake):
        if protocol == "rest":
            response = await client.post("/model/methods/classify", json=iris_payload([]))
        else:
            inputs = [
                {"name": name, "shape": [0], "datatype": "FP64", "data": []}
                for name in iris_payload([])
            ]
            response = await client.post("/v2/models/iris.classify/infer", json={"inputs": inputs})
    body = assert_problem(response, 422, "invalid-input")
    assert "no rows" in body["detail"]
