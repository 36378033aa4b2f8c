"""The hot path (server/hot_path.py) answers exactly as the ASGI path does.

Each request is sent twice: once in-process over ASGI (the reference) and once over a real
loopback socket to uvicorn with the hot-path protocol; status, body, media type and the
response headers must match, and the socket answers must have been served by the hot path
(or have fallen through to ASGI where the hot path says so). Metrics after the same sequence
must match too. Plus what only a socket shows: keep-alive, pipelining, `Connection: close`,
HTTP/1.0, and many concurrent requests merged into batches with each caller getting its rows.
(`RUNTIME_TEST_TRANSPORT=hot` runs the other serve_fake tests over the hot path as well.)
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from modelbay_runtime.server import ModelServer, RuntimeSettings
from modelbay_runtime.server.hot_path import HotPredict
from runtime_fakes import (
    build_fake_model,
    expected_labels,
    iris_payload,
    serve_over_hot_path,
)

ROWS = [(5.1, 3.5, 1.4, 0.2), (6.7, 3.0, 5.2, 2.3), (5.9, 3.0, 4.2, 1.5)]
JSON_BODY = json.dumps(iris_payload(ROWS)).encode()
URL = "/model/methods/classify"
# Headers only a socket server adds (uvicorn's defaults) or that name the connection.
TRANSPORT_HEADERS = {"date", "server", "connection"}


@asynccontextmanager
async def two_servers(
    **settings: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, list[str]]]:
    """(ASGI client, socket client through the hot path, paths the hot path served)."""
    servers = []
    for _ in range(2):
        server = ModelServer(RuntimeSettings(**settings), build_fake_model)  # type: ignore[arg-type]
        await server.startup()
        await server.wait_loaded()
        servers.append(server)
    served: list[str] = []
    original = HotPredict.start

    def counting_start(self: HotPredict, cycle: Any, respond: Any) -> None:
        served.append(cycle.path)
        original(self, cycle, respond)

    HotPredict.start = counting_start  # type: ignore[method-assign]
    try:
        async with serve_over_hot_path(servers[1]) as base_url:
            transport = httpx.ASGITransport(app=servers[0])
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://model") as reference,
                httpx.AsyncClient(base_url=base_url) as hot,
            ):
                yield reference, hot, served
    finally:
        HotPredict.start = original  # type: ignore[method-assign]
        for server in servers:
            await server.shutdown()


def _comparable(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in TRANSPORT_HEADERS}
    return response.status_code, response.content, headers


CASES: list[tuple[str, str, bytes, dict[str, str], bool]] = [
    # (name, path, body, headers, served by the hot path)
    ("json", URL, JSON_BODY, {"content-type": "application/json"}, True),
    ("no content type", URL, JSON_BODY, {}, True),
    (
        "json with charset",
        URL,
        JSON_BODY,
        {"content-type": "application/json; charset=utf-8"},
        True,
    ),
    ("accept json", URL, JSON_BODY, {"accept": "application/json"}, True),
    ("accept protobuf", URL, JSON_BODY, {"accept": "application/x-protobuf"}, True),
    ("accept neither", URL, JSON_BODY, {"accept": "text/html"}, True),
    ("wrong media type", URL, JSON_BODY, {"content-type": "text/plain"}, True),
    ("malformed json", URL, b"{not json", {"content-type": "application/json"}, True),
    ("invalid utf-8", URL, b'{"a": "\xff"}', {"content-type": "application/json"}, True),
    ("not an object", URL, b"[1, 2, 3]", {"content-type": "application/json"}, True),
    ("missing field", URL, b'{"sepal_length": [1.0]}', {}, True),
    ("wrong type", URL, b'{"sepal_length": "x", "sepal_width": [1.0]}', {}, True),
    (
        "ragged columns",
        URL,
        json.dumps({**iris_payload(ROWS), "sepal_length": [1.0]}).encode(),
        {},
        True,
    ),
    ("empty batch", URL, json.dumps(iris_payload([])).encode(), {}, True),
    ("unknown field", URL, json.dumps({**iris_payload(ROWS), "extra": [1.0]}).encode(), {}, True),
    (
        "null column",
        URL,
        json.dumps({**iris_payload(ROWS), "sepal_length": None}).encode(),
        {},
        True,
    ),
    (
        "int column",
        URL,
        json.dumps({**iris_payload(ROWS), "sepal_length": [5, 6, 7]}).encode(),
        {},
        True,
    ),
    (
        "bool column",
        URL,
        json.dumps({**iris_payload(ROWS), "sepal_length": [True] * 3}).encode(),
        {},
        True,
    ),
    ("malformed protobuf", URL, b"\xff\xff\xff", {"content-type": "application/x-protobuf"}, True),
    ("unknown method", "/model/methods/predict", b"{}", {}, True),
    ("model failure", "/model/methods/explode", b'{"x": [1.0]}', {}, True),
    ("query string", URL + "?debug=1", JSON_BODY, {}, True),
    ("escaped path", "/model/methods/class%69fy", JSON_BODY, {}, False),
    ("nested path", "/model/methods/classify/extra", JSON_BODY, {}, False),
    ("declared too large", URL, b" " * 5000, {"content-type": "application/json"}, False),
]


@pytest.mark.parametrize(
    ("name", "path", "body", "headers", "hot"), CASES, ids=[c[0] for c in CASES]
)
async def test_the_hot_path_answers_as_the_asgi_path(
    name: str, path: str, body: bytes, headers: dict[str, str], hot: bool
) -> None:
    async with two_servers(max_body_bytes=4096) as (reference, socket_client, served):
        expected = await reference.post(path, content=body, headers=headers)
        answered = await socket_client.post(path, content=body, headers=headers)
    assert _comparable(answered) == _comparable(expected)
    assert bool(served) is hot
    # uvicorn's default headers are still there on the hot path.
    assert "date" in answered.headers
    assert answered.headers["server"] == "uvicorn"


async def test_protobuf_round_trip_and_the_acumos_alias_match() -> None:
    from google.protobuf import descriptor_pool, message_factory
    from google.protobuf.descriptor_pb2 import FileDescriptorSet

    fake = build_fake_model()
    pool = descriptor_pool.DescriptorPool()
    for file_proto in FileDescriptorSet.FromString(fake.descriptor_set).file:
        pool.Add(file_proto)
    message = message_factory.GetMessageClass(pool.FindMessageTypeByName("iris.IrisInput"))
    body = message(**iris_payload(ROWS)).SerializeToString()
    async with two_servers() as (reference, socket_client, served):
        for media_type, accept in (
            ("application/x-protobuf", None),
            ("application/vnd.google.protobuf", "*/*"),
            ("application/x-protobuf", "application/json"),
        ):
            headers = {"content-type": media_type} | ({"accept": accept} if accept else {})
            expected = await reference.post(URL, content=body, headers=headers)
            answered = await socket_client.post(URL, content=body, headers=headers)
            assert expected.status_code == 200
            assert _comparable(answered) == _comparable(expected)
    assert len(served) == 3


def _prediction_metrics(text: str) -> list[str]:
    wanted = ("modelbay_requests_total", "modelbay_errors_total", "modelbay_batch_requests_count")
    lines = [line for line in text.splitlines() if line.startswith(wanted)]
    return sorted(re.sub(r"\s+[0-9.e+-]+$", "", line) + " " + line.split()[-1] for line in lines)


async def test_metrics_count_the_same_on_both_paths() -> None:
    sequence = [case for case in CASES if case[4]]
    async with two_servers(max_body_bytes=4096) as (reference, socket_client, _served):
        for _name, path, body, headers, _hot in sequence:
            await reference.post(path, content=body, headers=headers)
            await socket_client.post(path, content=body, headers=headers)
        expected = _prediction_metrics((await reference.get("/metrics")).text)
        answered = _prediction_metrics((await socket_client.get("/metrics")).text)
    assert expected
    assert answered == expected
    assert any('status="422"' in line for line in answered)


async def test_concurrent_requests_are_batched_and_each_gets_its_own_rows() -> None:
    rows = [(1.0 + i / 10, 3.0, 1.0 + (i % 7), 0.2 + (i % 3)) for i in range(48)]
    async with two_servers() as (_reference, socket_client, served):
        answers = await asyncio.gather(
            *(socket_client.post(URL, json=iris_payload([row])) for row in rows)
        )
        metrics = (await socket_client.get("/metrics")).text
    assert [a.json() for a in answers] == [{"IrisType": expected_labels([row])} for row in rows]
    assert len(served) == len(rows)
    calls = float(re.search(r"modelbay_batch_requests_count\S* (\S+)", metrics).group(1))  # type: ignore[union-attr]
    assert calls < len(rows)  # some requests shared a model call


async def _raw_exchange(base_url: str, data: bytes, until_closed: bool = False) -> bytes:
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    received = b""
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            if not chunk:
                break
            received += chunk
            if not until_closed and received.count(b"HTTP/1.1 200 OK") >= 2:
                break
    finally:
        writer.close()
    return received


def _request(extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    return (
        b"POST " + URL.encode() + b" HTTP/" + version + b"\r\nhost: model\r\n"
        b"content-type: application/json\r\ncontent-length: "
        + str(len(JSON_BODY)).encode()
        + b"\r\n"
        + extra
        + b"\r\n"
        + JSON_BODY
    )


async def test_pipelined_requests_are_answered_in_order() -> None:
    other = json.dumps(iris_payload([(5.0, 3.0, 6.0, 2.5)])).encode()
    second = (
        _request()
        .replace(JSON_BODY, other)
        .replace(str(len(JSON_BODY)).encode(), str(len(other)).encode())
    )
    async with two_servers() as (_reference, socket_client, served):
        received = await _raw_exchange(str(socket_client.base_url), _request() + second)
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in received.split(b"HTTP/1.1 ")[1:]]
    assert [json.loads(b) for b in bodies] == [
        {"IrisType": expected_labels(ROWS)},
        {"IrisType": [2]},
    ]
    assert len(served) == 2


async def test_connection_close_and_http_1_0_close_after_the_answer() -> None:
    async with two_servers() as (_reference, socket_client, served):
        base = str(socket_client.base_url)
        closing = await _raw_exchange(base, _request(b"connection: close\r\n"), until_closed=True)
        old = await _raw_exchange(base, _request(version=b"1.0"), until_closed=True)
    for received in (closing, old):
        head, body = received.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert b"connection: close" in head.lower()
        assert json.loads(body) == {"IrisType": expected_labels(ROWS)}
    assert len(served) == 2


async def test_a_client_gone_while_the_model_runs_leaves_the_server_serving() -> None:
    fake = build_fake_model()
    fake.calls.gate.clear()  # hold the model busy
    server = ModelServer(RuntimeSettings(), lambda: fake)  # type: ignore[arg-type,return-value]
    await server.startup()
    await server.wait_loaded()
    try:
        async with serve_over_hot_path(server) as base_url:
            host, port = base_url.removeprefix("http://").split(":")
            _reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(_request())
            await writer.drain()
            assert await asyncio.to_thread(fake.calls.entered.wait, 10)
            writer.close()  # gone before the answer
            await writer.wait_closed()
            await asyncio.sleep(0.05)
            fake.calls.gate.set()
            async with httpx.AsyncClient(base_url=base_url) as client:
                answer = await client.post(URL, content=JSON_BODY)
        assert answer.status_code == 200
        assert answer.json() == {"IrisType": expected_labels(ROWS)}
    finally:
        fake.calls.gate.set()
        await server.shutdown()


def test_a_uvicorn_newer_than_tested_falls_back_to_the_asgi_path() -> None:
    from modelbay_runtime.server import hot_path

    newest = ".".join(str(part) for part in hot_path.NEWEST_TESTED_UVICORN)
    assert hot_path.uvicorn_is_tested(newest + ".0")
    assert hot_path.uvicorn_is_tested("0.30.6")
    assert not hot_path.uvicorn_is_tested(
        f"{hot_path.NEWEST_TESTED_UVICORN[0]}.{hot_path.NEWEST_TESTED_UVICORN[1] + 1}.0"
    )
    assert not hot_path.uvicorn_is_tested("1.0.0")
    assert not hot_path.uvicorn_is_tested("garbage")
