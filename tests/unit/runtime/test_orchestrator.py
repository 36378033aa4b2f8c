"""The orchestrator in-process against real model servers (SDK bundles, loaded by the runtime):
the Fig. 5 miniature answers what calling its three pieces by hand answers, over JSON and
protobuf; parallel branches overlap; failures, timeouts and retries name the node; W3C trace
context reaches every node; several solutions share one process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor_pb2 import FileDescriptorSet
from modelbay_runtime.orchestrator import OrchestratorServer, create_orchestrator
from solution_fixtures import (
    SAMPLE,
    NodeNetwork,
    Reading,
    call_by_hand,
    dump_models,
    fig5_document,
    model_servers,
    write_solution,
)

NODES = {"heat": "http://heat", "shake": "http://shake", "rule": "http://rule"}
ENV = {"MODELBAY_SOLUTION_NODES": json.dumps(NODES)}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return dump_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def fig5(bundles: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    nodes = {"heat": bundles["heat"], "shake": bundles["shake"], "rule": bundles["rule"]}
    return write_solution(tmp_path_factory.mktemp("solutions"), "fig5", fig5_document(), nodes)


@asynccontextmanager
async def orchestrated(
    solutions: list[Path], network: NodeNetwork
) -> AsyncIterator[tuple[httpx.AsyncClient, OrchestratorServer]]:
    server = create_orchestrator([str(s) for s in solutions], environ=ENV, transport=network)
    await server.startup()
    transport = httpx.ASGITransport(app=server)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://solution") as client:
            yield client, server
    finally:
        await server.shutdown()


@asynccontextmanager
async def fig5_running(
    bundles: dict[str, Path], fig5: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, NodeNetwork]]:
    nodes = {"heat": bundles["heat"], "shake": bundles["shake"], "rule": bundles["rule"]}
    async with model_servers(nodes) as network, orchestrated([fig5], network) as (client, _):
        yield client, network


def message_class(descriptor_set: bytes, name: str) -> type:
    pool = descriptor_pool.DescriptorPool()
    for file_proto in FileDescriptorSet.FromString(descriptor_set).file:
        pool.Add(file_proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))  # type: ignore[no-any-return]


async def test_json_answer_equals_calling_the_pieces_by_hand(
    bundles: dict[str, Path], fig5: Path
) -> None:
    async with fig5_running(bundles, fig5) as (client, network):
        for reading in (SAMPLE, Reading(20.0, 9.5), Reading(99.0, 0.0)):
            response = await client.post("/model/methods/assess", json=reading._asdict())
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            assert response.json() == await call_by_hand(network, reading)


async def test_protobuf_answer_equals_the_rule_nodes_own_bytes(
    bundles: dict[str, Path], fig5: Path
) -> None:
    solution_set = (fig5 / "model.descriptor.pb").read_bytes()
    request_class = message_class(solution_set, "modelbay.fig5.Reading")
    async with fig5_running(bundles, fig5) as (client, network):
        response = await client.post(
            "/model/methods/assess",
            content=request_class(temperature=85.0, vibration=3.0).SerializeToString(),
            headers={"content-type": "application/x-protobuf"},
        )
        expected = await call_by_hand(network, SAMPLE)
        async with httpx.AsyncClient(transport=network) as direct:
            by_hand = await direct.post(
                "http://rule/model/methods/decide",
                json={"heat": 0.625, "shake": 0.3},
                headers={"accept": "application/x-protobuf"},
            )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    assert response.content == by_hand.content
    answer = message_class(solution_set, "modelbay.fig5.Verdict").FromString(response.content)
    assert (answer.alert, answer.score) == (expected["alert"], pytest.approx(expected["score"]))


async def test_nodes_are_called_over_protobuf_and_branches_overlap(
    bundles: dict[str, Path], fig5: Path
) -> None:
    arrived: dict[str, asyncio.Event] = {"heat": asyncio.Event(), "shake": asyncio.Event()}

    def wait_for(other: str, me: str) -> object:
        async def hook(request: httpx.Request) -> None:
            arrived[me].set()
            # Answers only once the other branch's call has started too: sequential calls
            # would never get here, and the wait would run out.
            await asyncio.wait_for(arrived[other].wait(), timeout=20)

        return hook

    async with fig5_running(bundles, fig5) as (client, network):
        network.hooks = {"heat": wait_for("shake", "heat"), "shake": wait_for("heat", "shake")}  # type: ignore[dict-item]
        response = await client.post("/model/methods/assess", json=SAMPLE._asdict())
    assert response.status_code == 200, response.text
    to_nodes = [r for r in network.seen if r.url.host in NODES]
    assert {r.headers["content-type"] for r in to_nodes} == {"application/x-protobuf"}
    assert {r.headers["accept"] for r in to_nodes} == {"application/x-protobuf"}


async def test_trace_context_reaches_every_node(bundles: dict[str, Path], fig5: Path) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with fig5_running(bundles, fig5) as (client, network):
        await client.post(
            "/model/methods/assess",
            json=SAMPLE._asdict(),
            headers={
                "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
                "tracestate": "vendor=x",
            },
        )
    parents = [r.headers["traceparent"].split("-") for r in network.seen]
    assert len(parents) == 3
    assert {p[1] for p in parents} == {trace_id}
    assert len({p[2] for p in parents}) == 3  # one span id per call
    assert "00f067aa0ba902b7" not in {p[2] for p in parents}
    assert {r.headers["tracestate"] for r in network.seen} == {"vendor=x"}


async def test_a_failing_node_is_named_in_a_problem(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    nodes = {"heat": bundles["broken"], "shake": bundles["shake"], "rule": bundles["rule"]}
    solution = write_solution(tmp_path, "fragile", fig5_document(heat="broken"), nodes)
    async with model_servers(nodes) as network, orchestrated([solution], network) as (client, _):
        response = await client.post("/model/methods/assess", json=SAMPLE._asdict())
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/node-failed")
    assert problem["node"] == "heat"
    assert problem["model"] == "alice/broken:1"
    assert problem["node_status"] == 500
    assert "node heat (alice/broken:1): answered HTTP 500" in problem["detail"]
    assert problem["attempts"] == 1  # a model error is not retried


async def test_unavailable_nodes_are_retried_then_named(
    bundles: dict[str, Path], fig5: Path
) -> None:
    calls = {"shake": 0}

    async def busy_once(request: httpx.Request) -> httpx.Response | None:
        calls["shake"] += 1
        return (
            httpx.Response(503, json={"title": "Model is loading"}) if calls["shake"] == 1 else None
        )

    async def loading(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"title": "Model is loading"})

    async def unreachable(request: httpx.Request) -> None:
        raise httpx.ConnectError("connection refused", request=request)

    async with fig5_running(bundles, fig5) as (client, network):
        network.hooks = {"shake": busy_once}
        recovered = await client.post("/model/methods/assess", json=SAMPLE._asdict())
        network.hooks = {"shake": loading}
        still_loading = await client.post("/model/methods/assess", json=SAMPLE._asdict())
        network.hooks = {"shake": unreachable}
        failed = await client.post("/model/methods/assess", json=SAMPLE._asdict())
    assert recovered.status_code == 200
    assert calls["shake"] == 2
    assert still_loading.status_code == 503
    assert still_loading.headers["retry-after"] == "1"
    assert still_loading.json()["type"].endswith("/node-unavailable")
    assert still_loading.json()["attempts"] == 3
    assert failed.status_code == 502
    problem = failed.json()
    assert problem["type"].endswith("/node-unreachable")
    assert (problem["node"], problem["attempts"]) == ("shake", 3)  # retries: 2 in the document
    assert "cannot reach http://shake/model/methods/detect" in problem["detail"]


async def test_a_node_that_times_out_is_named(bundles: dict[str, Path], fig5: Path) -> None:
    async def too_slow(request: httpx.Request) -> None:
        raise httpx.ReadTimeout("timed out", request=request)

    async with fig5_running(bundles, fig5) as (client, network):
        network.hooks = {"rule": too_slow}
        response = await client.post("/model/methods/assess", json=SAMPLE._asdict())
    assert response.status_code == 504
    problem = response.json()
    assert problem["type"].endswith("/node-timeout")
    assert problem["node"] == "rule"
    assert problem["attempts"] == 2
    assert "no answer within 10 s" in problem["detail"]


async def test_bad_input_is_refused_at_the_edge(bundles: dict[str, Path], fig5: Path) -> None:
    async with fig5_running(bundles, fig5) as (client, network):
        wrong = await client.post(
            "/model/methods/assess", json={"temperature": "hot", "vibration": 1.0}
        )
        unknown = await client.post(
            "/model/methods/assess", json={**SAMPLE._asdict(), "humidity": 3}
        )
        broken = await client.post(
            "/model/methods/assess",
            content=b"\xff\xff",
            headers={"content-type": "application/x-protobuf"},
        )
        other_method = await client.post("/model/methods/detect", json=SAMPLE._asdict())
    assert (wrong.status_code, wrong.json()["field"]) == (422, "temperature")
    assert (unknown.status_code, unknown.json()["field"]) == (422, "humidity")
    assert broken.status_code == 400
    assert other_method.status_code == 404
    assert "'assess'" in other_method.json()["detail"]
    assert network.seen == []  # nothing reached a node


async def test_interface_endpoints_describe_the_solution(
    bundles: dict[str, Path], fig5: Path
) -> None:
    async with fig5_running(bundles, fig5) as (client, _):
        proto = await client.get("/model/proto")
        openapi = (await client.get("/openapi.json")).json()
        metadata = (await client.get("/model/metadata")).json()
        ready = await client.get("/readyz")
        health = await client.get("/healthz")
    assert "service Model {\n  rpc assess (Reading) returns (Verdict);\n}" in proto.text
    assert "package modelbay.fig5;" in proto.text
    operation = openapi["paths"]["/model/methods/assess"]["post"]
    assert {"422", "502", "504"} <= set(operation["responses"])
    assert metadata["kind"] == "solution"
    assert metadata["methods"]["assess"]["input_message"] == "modelbay.fig5.Reading"
    assert metadata["node_urls"]["heat"] == "http://heat/model/methods/detect"
    assert (ready.status_code, health.status_code) == (200, 200)


async def test_several_solutions_in_one_process(
    bundles: dict[str, Path], fig5: Path, tmp_path: Path
) -> None:
    direct = {
        "spec": "1",
        "nodes": {"heat": {"model": "alice/heat:1", "method": "detect"}},
        "edges": [{"from": "$input", "to": "heat"}],
        "output": "heat",
    }
    only_heat = write_solution(tmp_path, "only-heat", direct, {"heat": bundles["heat"]})
    nodes = {"heat": bundles["heat"], "shake": bundles["shake"], "rule": bundles["rule"]}
    async with model_servers(nodes) as network:
        async with orchestrated([fig5, only_heat], network) as (client, _):
            listed = (await client.get("/solutions")).json()
            second = await client.post(
                "/solutions/only-heat/model/methods/predict", json=SAMPLE._asdict()
            )
            first = await client.post("/solutions/fig5/model/methods/assess", json=SAMPLE._asdict())
            unknown = await client.get("/solutions/nope/model/proto")
        expected = await call_by_hand(network, SAMPLE)
    assert [s["name"] for s in listed["solutions"]] == ["fig5", "only-heat"]
    assert second.json() == {"score": 0.625, "label": "hot"}
    assert first.json() == expected
    assert unknown.status_code == 404


async def test_a_solution_can_be_a_node_of_another(
    bundles: dict[str, Path], fig5: Path, tmp_path: Path
) -> None:
    outer_document = {
        "spec": "1",
        "nodes": {"inner": {"model": "alice/fig5:1", "method": "assess"}},
        "edges": [{"from": "$input", "to": "inner"}],
        "output": "inner",
    }
    outer = write_solution(tmp_path, "outer", outer_document, {"inner": fig5})
    nodes = {"heat": bundles["heat"], "shake": bundles["shake"], "rule": bundles["rule"]}
    async with model_servers(nodes) as network:
        inner = create_orchestrator([str(fig5)], environ=ENV, transport=network)
        await inner.startup()
        network.servers["inner"] = httpx.ASGITransport(app=inner)
        environ = {"MODELBAY_SOLUTION_NODES": json.dumps({"inner": "http://inner"})}
        server = create_orchestrator([str(outer)], environ=environ, transport=network)
        await server.startup()
        try:
            transport = httpx.ASGITransport(app=server)
            async with httpx.AsyncClient(transport=transport, base_url="http://outer") as client:
                response = await client.post("/model/methods/predict", json=SAMPLE._asdict())
            expected = await call_by_hand(network, SAMPLE)
        finally:
            await server.shutdown()
            await inner.shutdown()
    assert response.status_code == 200, response.text
    assert response.json() == expected


async def test_a_node_refusing_the_callers_input_is_the_callers_422(
    bundles: dict[str, Path], fig5: Path
) -> None:
    async def refuses(request: httpx.Request) -> httpx.Response:
        problem = {
            "title": "Invalid input",
            "detail": "field 'vibration': too big",
            "field": "vibration",
        }
        return httpx.Response(
            422, json=problem, headers={"content-type": "application/problem+json"}
        )

    async def refuses_internal(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"title": "Invalid input", "detail": "field 'heat'"})

    async with fig5_running(bundles, fig5) as (client, network):
        network.hooks = {"shake": refuses}
        by_entry = await client.post("/model/methods/assess", json=SAMPLE._asdict())
        network.hooks = {"rule": refuses_internal}
        by_merge = await client.post("/model/methods/assess", json=SAMPLE._asdict())
    assert by_entry.status_code == 422
    problem = by_entry.json()
    assert problem["type"].endswith("/invalid-input")
    assert (problem["node"], problem["field"]) == ("shake", "vibration")
    assert (
        problem["detail"]
        == "node shake (alice/shake:1) refused the input: field 'vibration': too big"
    )
    # The rule node is fed by the pipeline, not by the caller: the pipeline's fault, a 502.
    assert by_merge.status_code == 502
    assert by_merge.json()["type"].endswith("/node-refused")
    assert by_merge.json()["node"] == "rule"


async def test_a_solution_that_cannot_load_is_unhealthy(tmp_path: Path) -> None:
    server = create_orchestrator([str(tmp_path / "missing")], environ={})
    await server.startup()
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://solution") as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        call = await client.post("/model/methods/predict", json={})
    await server.shutdown()
    assert [health.status_code, ready.status_code, call.status_code] == [503, 503, 503]
    assert health.json()["type"].endswith("/solution-failed")
    assert health.json()["detail"] == "See the server log."
