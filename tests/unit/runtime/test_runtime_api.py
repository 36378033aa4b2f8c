"""Runtime server endpoints in-process over ASGI: predictions in both encodings, negotiation,
metadata, proto, OpenAPI, health/readiness and metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor_pb2 import FileDescriptorSet
from modelbay_runtime.server import ModelServer, RuntimeSettings
from runtime_fakes import (
    FEATURES,
    build_fake_model,
    expected_labels,
    iris_payload,
    serve_fake,
)

ROWS = [(5.1, 3.5, 1.4, 0.2), (6.7, 3.0, 5.2, 2.3), (5.9, 3.0, 4.2, 1.5)]


def message_class(descriptor_set: bytes, name: str) -> Any:
    pool = descriptor_pool.DescriptorPool()
    for file_proto in FileDescriptorSet.FromString(descriptor_set).file:
        pool.Add(file_proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


async def test_json_prediction_returns_one_label_per_row() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post("/model/methods/classify", json=iris_payload(ROWS))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"IrisType": expected_labels(ROWS)}


async def test_protobuf_in_and_out() -> None:
    async with serve_fake() as (_, client, fake):
        request_class = message_class(fake.descriptor_set, "iris.IrisInput")
        response_class = message_class(fake.descriptor_set, "iris.IrisOutput")
        body = request_class(**iris_payload(ROWS)).SerializeToString()
        response = await client.post(
            "/model/methods/classify",
            content=body,
            headers={"content-type": "application/x-protobuf"},
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    assert list(response_class.FromString(response.content).IrisType) == expected_labels(ROWS)


async def test_acumos_media_type_is_echoed_back() -> None:
    async with serve_fake() as (_, client, fake):
        request_class = message_class(fake.descriptor_set, "iris.IrisInput")
        response = await client.post(
            "/model/methods/classify",
            content=request_class(**iris_payload(ROWS)).SerializeToString(),
            headers={"content-type": "application/vnd.google.protobuf", "accept": "*/*"},
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.google.protobuf"


async def test_accept_chooses_the_response_encoding() -> None:
    async with serve_fake() as (_, client, fake):
        as_protobuf = await client.post(
            "/model/methods/classify",
            json=iris_payload(ROWS),
            headers={"accept": "application/json;q=0.5, application/x-protobuf"},
        )
        request_class = message_class(fake.descriptor_set, "iris.IrisInput")
        as_json = await client.post(
            "/model/methods/classify",
            content=request_class(**iris_payload(ROWS)).SerializeToString(),
            headers={"content-type": "application/x-protobuf", "accept": "application/json"},
        )
    response_class = message_class(fake.descriptor_set, "iris.IrisOutput")
    assert as_protobuf.headers["content-type"] == "application/x-protobuf"
    assert list(response_class.FromString(as_protobuf.content).IrisType) == expected_labels(ROWS)
    assert as_json.json() == {"IrisType": expected_labels(ROWS)}


async def test_accept_allowing_neither_encoding_is_406() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post(
            "/model/methods/classify", json=iris_payload(ROWS), headers={"accept": "text/html"}
        )
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 406


async def test_wrapped_method_takes_keyword_fields() -> None:
    async with serve_fake() as (_, client, _fake):
        response = await client.post(
            "/model/methods/describe", json={"text": "iris", "count": 3, "loud": True}
        )
    assert response.json() == {"value": "IRIS X3"}


async def test_metadata_summarises_the_manifest() -> None:
    async with serve_fake() as (_, client, _fake):
        metadata = (await client.get("/model/metadata")).json()
    assert metadata["name"] == "iris"
    assert metadata["version"] == "3"
    assert metadata["requirements"][0]["name"] == "scikit-learn"
    classify = metadata["methods"]["classify"]
    assert classify["input_message"] == "iris.IrisInput"
    assert classify["batching"] is True
    assert classify["oip_v2"] is True
    assert metadata["methods"]["describe"]["batching"] is False
    assert "iris.IrisOutput" in metadata["messages"]


async def test_proto_is_served_as_text() -> None:
    async with serve_fake() as (_, client, fake):
        response = await client.get("/model/proto")
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == fake.proto_text


async def test_openapi_has_the_methods_real_schemas() -> None:
    async with serve_fake() as (_, client, _fake):
        document = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    operation = document["paths"]["/model/methods/classify"]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) >= {"application/json", "application/x-protobuf"}
    ref = content["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert schema["type"] == "object"
    assert set(schema["required"]) == set(FEATURES)
    assert schema["properties"]["sepal_length"] == {"type": "array", "items": {"type": "number"}}
    assert "422" in operation["responses"]
    # $defs moved to components, refs rewritten to stay resolvable inside the OpenAPI document
    describe = document["components"]["schemas"]["DescribeIn"]
    assert describe["properties"]["text"] == {"$ref": "#/components/schemas/Text"}
    assert document["components"]["schemas"]["Text"]["type"] == "string"
    assert docs.status_code == 200
    assert "openapi.json" in docs.text


async def test_health_and_readiness_follow_model_loading() -> None:
    fake = build_fake_model()
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_load() -> Any:
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=30)
        return fake

    server = ModelServer(RuntimeSettings(), slow_load)
    import httpx

    await server.startup()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=server), base_url="http://model"
    ) as client:
        assert (await client.get("/healthz")).status_code == 200
        not_ready = await client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.headers["content-type"] == "application/problem+json"
        early = await client.post("/model/methods/classify", json=iris_payload(ROWS))
        assert early.status_code == 503
        assert early.headers["retry-after"] == "1"
        release.set()
        await server.wait_loaded()
        assert (await client.get("/readyz")).status_code == 200
    await server.shutdown()


async def test_failed_load_is_reported_by_health_and_readiness() -> None:
    def broken_load() -> Any:
        raise FileNotFoundError("no bundle at /nowhere")

    server = ModelServer(RuntimeSettings(), broken_load)
    import httpx

    await server.startup()
    await server.wait_loaded()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=server), base_url="http://model"
    ) as client:
        assert (await client.get("/healthz")).status_code == 503
        ready = await client.get("/readyz")
        assert ready.json()["type"].endswith("/model-failed")
    await server.shutdown()


async def test_warm_up_calls_the_model_with_the_first_sample_before_ready() -> None:
    async with serve_fake(warmup=True) as (_, client, fake):
        assert fake.calls.rows_per_call == [1]  # the sample's one row, before any request
        assert (await client.get("/readyz")).status_code == 200


async def test_metrics_count_requests_latency_batches_and_errors() -> None:
    async with serve_fake() as (_, client, _fake):
        await client.post("/model/methods/classify", json=iris_payload(ROWS))
        await client.post("/model/methods/classify", json={"sepal_length": "oops"})
        await client.post("/model/methods/nope", json={})
        text = (await client.get("/metrics")).text
    assert 'modelbay_requests_total{encoding="json",method="classify",status="200"} 1.0' in text
    assert 'modelbay_requests_total{encoding="json",method="classify",status="422"} 1.0' in text
    assert 'modelbay_requests_total{encoding="json",method="_unknown",status="404"} 1.0' in text
    assert 'modelbay_request_duration_seconds_count{method="classify"} 2.0' in text
    assert 'modelbay_batch_rows_sum{method="classify"} 3.0' in text
    assert 'modelbay_errors_total{kind="invalid-input"} 1.0' in text
    assert 'modelbay_errors_total{kind="unknown-method"} 1.0' in text


async def test_unknown_path_and_wrong_verb_are_problems() -> None:
    async with serve_fake() as (_, client, _fake):
        missing = await client.get("/nothing-here")
        wrong_verb = await client.get("/model/methods/classify")
    assert missing.status_code == 404
    assert wrong_verb.status_code == 405
    assert wrong_verb.headers["allow"] == "POST"
    assert wrong_verb.headers["content-type"] == "application/problem+json"
