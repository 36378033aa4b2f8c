"""Solutions end to end (the paper's Fig. 5 in miniature): two scikit-learn detectors read the
same input in parallel, a rule step (plain Python, pushed like any model) combines their scores.

Pushed with the SDK, built by the pipeline, composed with `Solution(...)` and `Session.push`,
type-checked at definition time, built into an orchestrator image; then the solution image runs
on one Docker network with the three model containers and is called over JSON and protobuf: its
answers equal calling the three pieces by hand. Also: a type mismatch is refused field by field,
a node that fails answers a problem naming it, and a node the pusher may not see (private, or
missing) is refused naming it. Last, a node deleted (`modelbay delete`) after the solution's next
version was pushed makes that version's build fail, naming the node."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import yaml
from docker.errors import NotFound
from e2e_client import Gateway, describe_failure, explain
from e2e_models import MODELBAY_CLI, dump_model, push_bundle
from e2e_runtime import PROTOBUF, call_json, call_protobuf, compile_proto, wait_ready
from e2e_stack import free_port
from modelbay import Session, Solution
from modelbay.errors import ApiError

pytestmark = pytest.mark.slow  # builds four images (make test runs it, make test-fast does not)

READINGS = [
    {"temperature": 85.0, "vibration": 3.0},
    {"temperature": 30.0, "vibration": 9.0},
    {"temperature": 72.5, "vibration": 5.5},
]


def fig5(owner: str, *, heat_field: str = "score") -> Solution:
    solution = Solution(method="assess", description="Two detectors in parallel, then a rule")
    heat = solution.node("heat", f"{owner}/heat:1", "detect")
    shake = solution.node("shake", f"{owner}/shake:1", "detect", timeout_seconds=5, retries=2)
    rule = solution.node("rule", f"{owner}/rule:1", "decide")
    solution.connect(solution.input, heat)
    solution.connect(solution.input, shake)
    solution.connect(heat, rule, map={"heat": heat_field})
    solution.connect(shake, rule, map={"shake": "score"})
    solution.output = rule
    return solution


async def push_solution(gateway: Gateway, solution: Solution, name: str) -> Any:
    session = Session(url=gateway.url, token=gateway.token, progress=False)
    return await asyncio.to_thread(session.push, solution, f"{gateway.username}/{name}")


async def refusal(
    gateway: Gateway, solution: Solution, name: str, *, as_yaml: bool = False
) -> dict[str, Any]:
    """Push through `/v1` directly (the SDK would raise), returning the problem document; the
    document goes as JSON, or as YAML as a person would write it."""
    path = f"/v1/solutions/{gateway.username}/{name}/versions"
    if as_yaml:
        response = await gateway.http.post(
            path,
            content=yaml.safe_dump(solution.to_document(), sort_keys=False),
            headers={"content-type": "application/yaml"},
        )
    else:
        response = await gateway.http.post(path, json=solution.to_document())
    assert response.status_code in (409, 422), explain(response)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    return problem


@contextlib.asynccontextmanager
async def solution_network(
    client: docker.DockerClient, solution_ref: str, nodes: dict[str, str]
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """The node containers and the solution's on one fresh network; yields the solution's URL
    and each node's own (published) URL for calling it by hand."""
    suffix = uuid.uuid4().hex[:8]
    network = await asyncio.to_thread(client.networks.create, f"modelbay-e2e-{suffix}")
    containers: list[Any] = []
    try:
        node_urls, direct = {}, {}
        for node_id, ref in nodes.items():
            port, name = free_port(), f"{node_id}-{suffix}"
            containers.append(
                await asyncio.to_thread(
                    client.containers.run,
                    ref,
                    detach=True,
                    name=name,
                    network=network.name,
                    ports={"8080/tcp": ("127.0.0.1", port)},
                    labels={"dev.modelbay.e2e": "true"},
                )
            )
            node_urls[node_id] = f"http://{name}:8080"
            direct[node_id] = f"http://127.0.0.1:{port}"
        port = free_port()
        containers.append(
            await asyncio.to_thread(
                client.containers.run,
                solution_ref,
                detach=True,
                network=network.name,
                ports={"8080/tcp": ("127.0.0.1", port)},
                environment={"MODELBAY_SOLUTION_NODES": json.dumps(node_urls)},
                labels={"dev.modelbay.e2e": "true"},
            )
        )
        for container, url in zip(
            containers, [*direct.values(), f"http://127.0.0.1:{port}"], strict=True
        ):
            await wait_ready(url, container)
        yield f"http://127.0.0.1:{port}", direct
    finally:
        for container in containers:
            with contextlib.suppress(NotFound):
                await asyncio.to_thread(container.remove, force=True)
        await asyncio.to_thread(network.remove)


async def by_hand(direct: dict[str, str], reading: dict[str, float]) -> dict[str, Any]:
    heat = await call_json(direct["heat"], "detect", reading)
    shake = await call_json(direct["shake"], "detect", reading)
    return await call_json(
        direct["rule"], "decide", {"heat": heat["score"], "shake": shake["score"]}
    )


async def push_pieces(alice: Gateway, work: Path) -> dict[str, str]:
    """The three models, pushed and built; their image refs by node id."""
    pushed = {}
    for node_id in ("heat", "shake", "rule"):
        bundle = await dump_model(f"fig5_{node_id}", node_id, work / node_id)
        pushed[node_id] = await push_bundle(alice, bundle, f"{alice.username}/{node_id}")
    refs = {}
    for node_id, result in pushed.items():
        detail = await alice.follow(alice.username, node_id, result.version)
        assert detail["status"] == "ready", describe_failure(detail)
        refs[node_id] = detail["image_ref"]
    return refs


async def test_fig5_solution_composed_built_and_run(
    alice: Gateway, bob: Gateway, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    # A solution of versions that do not exist yet is refused, naming the first node.
    early = await refusal(alice, fig5(alice.username), "early")
    assert early["type"].endswith("/solution-node-unavailable"), early
    assert early["node"] == "heat"

    refs = await push_pieces(alice, tmp_path)

    # A type mismatch is refused with the field-by-field explanation.
    mismatch = await refusal(
        alice, fig5(alice.username, heat_field="label"), "mismatched", as_yaml=True
    )
    assert mismatch["type"].endswith("/incompatible-solution"), mismatch
    assert (
        "heat.Finding.label (string, field 2) → rule.Evidence.heat (double): types differ"
        in mismatch["detail"]
    ), mismatch
    # Alice's models are private: bob may not build on them, and is told which node.
    hidden = await refusal(bob, fig5(alice.username), "borrowed")
    assert hidden["type"].endswith("/solution-node-unavailable"), hidden
    assert hidden["node"] == "heat"
    assert "you may not see it" in hidden["detail"]
    with contextlib.suppress(ApiError):  # the SDK raises with the same problem
        await push_solution(bob, fig5(alice.username), "borrowed")
    await _cli_refuses_borrowed(bob, fig5(alice.username), tmp_path)

    pushed = await push_solution(alice, fig5(alice.username), "fig5")
    detail = await alice.follow(alice.username, "fig5", pushed.version)
    assert detail["status"] == "ready", describe_failure(detail)

    async with solution_network(docker_client, detail["image_ref"], refs) as (url, direct):
        for reading in READINGS:
            assert await call_json(url, "assess", reading) == await by_hand(direct, reading)
            over_protobuf = await call_protobuf(url, "assess", reading)
            expected = await by_hand(direct, reading)
            assert over_protobuf["alert"] == expected["alert"]
            assert over_protobuf["score"] == expected["score"]
            assert over_protobuf["reason"] == expected["reason"]
        await _protobuf_bytes_equal_the_rules(url, direct, READINGS[0])
        await _failing_node_is_named(url)
    await _deleted_node_fails_the_build(alice)


async def _protobuf_bytes_equal_the_rules(
    url: str, direct: dict[str, str], reading: dict[str, float]
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        classes = compile_proto((await http.get(f"{url}/model/proto")).text)
        request = classes["modelbay.fig5.Reading"](**reading).SerializeToString()
        solution = await http.post(
            f"{url}/model/methods/assess",
            content=request,
            headers={"content-type": PROTOBUF, "accept": PROTOBUF},
        )
        expected = await by_hand(direct, reading)
        rule = await http.post(
            f"{direct['rule']}/model/methods/decide",
            json=await _scores(http, direct, reading),
            headers={"accept": PROTOBUF},
        )
    assert solution.status_code == 200, solution.text
    assert solution.content == rule.content
    verdict = classes["modelbay.fig5.Verdict"].FromString(solution.content)
    assert verdict.reason == expected["reason"]


async def _scores(
    http: httpx.AsyncClient, direct: dict[str, str], reading: dict[str, float]
) -> dict[str, float]:
    scores = {}
    for node_id in ("heat", "shake"):
        answer = await http.post(f"{direct[node_id]}/model/methods/detect", json=reading)
        scores[node_id] = answer.json()["score"]
    return scores


async def _cli_refuses_borrowed(bob: Gateway, solution: Solution, work: Path) -> None:
    """`modelbay push fig5.yaml --name borrowed` as bob: exit 1, the node named."""
    document = work / "borrowed.yaml"
    document.write_text(yaml.safe_dump(solution.to_document(), sort_keys=False))
    command = [str(MODELBAY_CLI), "push", str(document), "--name", "borrowed"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    env |= {"MODELBAY_URL": bob.url, "MODELBAY_TOKEN": bob.token, "COLUMNS": "400"}
    result = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "node heat" in result.stdout + result.stderr, result.stdout + result.stderr


async def _failing_node_is_named(url: str) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{url}/model/methods/assess", json={"temperature": -300.0, "vibration": 1.0}
        )
    assert response.status_code == 502, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("/node-failed")
    assert problem["node"] == "heat"
    assert problem["model"].endswith("/heat:1")
    assert problem["node_status"] == 500


async def _modelbay(gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    env |= {"MODELBAY_URL": gateway.url, "MODELBAY_TOKEN": gateway.token, "COLUMNS": "400"}
    return await asyncio.to_thread(
        subprocess.run, [str(MODELBAY_CLI), *args], env=env, capture_output=True, text=True
    )


async def _deleted_node_fails_the_build(alice: Gateway) -> None:
    """The detectors are built already: push the solution again and delete `heat` at once
    through `/v1` (before the new version's build can finish; the CLI's start-up would race
    it); the catalog refuses `ready` when the image arrives, naming the node. `modelbay delete`
    is exercised on its own: refused while fig5:1 uses the model, then forced."""
    heat, shake = f"{alice.username}/heat", f"{alice.username}/shake"
    refused = await _modelbay(alice, "delete", heat, "--yes")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"is a node of {alice.username}/fig5:1" in refused.stdout + refused.stderr
    late = await push_solution(alice, fig5(alice.username), "fig5")
    deleted = await alice.http.delete(f"/v1/models/{heat}", params={"force": "true"})
    assert deleted.status_code == 200, explain(deleted)
    assert (await alice.http.get(f"/v1/models/{heat}")).status_code == 404
    forced = await _modelbay(alice, "delete", shake, "--yes", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert f"Deleted {shake}" in forced.stdout
    detail = await alice.follow(alice.username, "fig5", late.version)
    assert detail["status"] == "failed", detail
    # Nodes are checked in document order: heat (deleted first) is the one named.
    assert detail["reason"] == f'node "heat" ({heat}:1) was deleted'
