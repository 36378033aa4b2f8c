"""Deleting a model through `/v1` on real Postgres (docs/catalog.md, "Deleting a model"), and
what the catalog does with solutions: versions marked `kind: solution` with their nodes, the
`kind` search filter and facet, and a solution whose node was deleted or made private since it
was pushed refused when its image arrives (the builder's `ImageBuilt`, published here as the
builder would; the e2e tier builds real images)."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
import yaml
from gateway_curation import assert_problem, outbox_events, pushed_version, ready_version
from gateway_stack import ADMIN_TOKEN, Stack
from modelbay.cli import build_app
from typer.testing import CliRunner


def _solution(node: str, model: str) -> dict[str, Any]:
    """The smallest solution: the request goes to one node, whose answer is the solution's."""
    return {
        "spec": "1",
        "method": "add",
        "nodes": {node: {"model": model, "method": "add"}},
        "edges": [{"from": "$input", "to": node}],
        "output": node,
    }


async def _push_solution(
    stack: Stack, token: str, owner: str, name: str, node: str, model: str
) -> int:
    async with stack.client(token) as client:
        pushed = await client.post(
            f"/v1/solutions/{owner}/{name}/versions", json=_solution(node, model)
        )
    assert pushed.status_code == 202, pushed.text
    version = int(pushed.json()["version"])
    await stack.wait_for_version(token, owner, name, version)
    return version


async def _publish(stack: Stack, token: str, owner: str, name: str, visibility: str) -> None:
    body = {"description": "adds", "category": "other", "license": "MIT", "visibility": visibility}
    async with stack.client(token) as client:
        published = await client.post(f"/v1/models/{owner}/{name}/publish", json=body)
    assert published.status_code == 200, published.text


async def _built(stack: Stack, token: str, owner: str, name: str, version: int) -> dict[str, Any]:
    """The version after the resolver's and the builder's events (as make_ready sends them)."""
    detail = await stack.wait_for_version(token, owner, name, version)
    await stack.make_ready(owner, name, version, detail["bundle"]["sha256"])
    async with stack.client(token) as client:
        answer = await client.get(f"/v1/models/{owner}/{name}/versions/{version}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_a_deleted_model_is_gone_everywhere_and_its_solutions_refuse_to_build(
    stack: Stack, archive_bytes: bytes
) -> None:
    ada, ben = await stack.new_user("ada"), await stack.new_user("ben")
    adder = await pushed_version(stack, ada, "ada", "adder", archive_bytes)
    await ready_version(stack, ada, "ada", "adder", adder)
    async with stack.client(ben) as client:
        # Private: for ben it does not exist, whatever he tries.
        assert_problem(await client.delete("/v1/models/ada/adder"), 404, "model-not-found")
    await _publish(stack, ada, "ada", "adder", "public")
    async with stack.client(ben) as client:
        assert_problem(await client.delete("/v1/models/ada/adder"), 403, "deletion-not-allowed")

    calc = await _push_solution(stack, ada, "ada", "calc", "adder", f"ada/adder:{adder}")
    async with stack.client(ada) as client:
        model = (await client.get("/v1/models/ada/calc")).json()
        assert model["kind"] == "solution"
        assert [v["kind"] for v in model["versions"]] == ["solution"]
        version = (await client.get(f"/v1/models/ada/calc/versions/{calc}")).json()
        assert version["kind"] == "solution"
        assert version["nodes"] == [
            {"node": "adder", "model": "ada/adder:1", "owner": "ada", "name": "adder", "version": 1}
        ]
        assert version["links"]["deploy-compose"].endswith(
            f"/ada/calc/versions/{calc}/deploy/compose"
        )
        assert (await client.get("/v1/models/ada/adder")).json()["kind"] == "model"
        # Its document, as written (no resolution), to edit and push again; YAML on request.
        document = await client.get(f"/v1/solutions/ada/calc/versions/{calc}/document")
        assert document.status_code == 200, document.text
        assert document.json() == {"kind": "solution", **_solution("adder", "ada/adder:1")}
        as_yaml = await client.get(
            f"/v1/solutions/ada/calc/versions/{calc}/document",
            headers={"accept": "application/yaml"},
        )
        assert as_yaml.headers["content-type"].startswith("application/yaml")
        assert yaml.safe_load(as_yaml.text) == document.json()
        not_one = await client.get(f"/v1/solutions/ada/adder/versions/{adder}/document")
        assert_problem(not_one, 409, "not-a-solution")
        solutions = (
            await client.get(
                "/v1/models", params={"kind": "solution", "owner": "ada", "facets": "true"}
            )
        ).json()
        assert [item["name"] for item in solutions["items"]] == ["calc"]
        assert {f["value"]: f["count"] for f in solutions["facets"]["kind"]} == {
            "model": 1,
            "solution": 1,
        }
        assert (await client.get("/v1/models", params={"kind": "robot"})).status_code == 422

        # A live solution uses it: refused, naming the solution, unless forced.
        in_use = assert_problem(await client.delete("/v1/models/ada/adder"), 409, "model-in-use")
        assert in_use["solutions"] == [f"ada/calc:{calc}"]
        assert in_use["hidden_solutions"] == 0
        deleted = await client.delete("/v1/models/ada/adder", params={"force": "true"})
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["versions"] == [adder]
        assert deleted.json()["deleted_by"] == "ada"
        assert deleted.json()["kind"] == "model"

        # Gone everywhere, for its owner too; twice deleted is 404; the name is not reused.
        assert_problem(await client.get("/v1/models/ada/adder"), 404, "model-not-found")
        gone = await client.get(f"/v1/models/ada/adder/versions/{adder}")
        assert_problem(gone, 404, "model-not-found")
        assert_problem(
            await client.get(f"/v1/models/ada/adder/versions/{adder}/bundle"),
            404,
            "model-not-found",
        )
        assert_problem(await client.delete("/v1/models/ada/adder"), 404, "model-not-found")
        listed = (await client.get("/v1/models", params={"owner": "ada"})).json()
        assert [item["name"] for item in listed["items"]] == ["calc"]
    assert_problem(await stack.push(ada, "ada", "adder", archive_bytes), 409, "model-name-deleted")
    async with stack.client(ADMIN_TOKEN) as admin:
        assert_problem(await admin.get("/v1/models/ada/adder"), 404, "model-not-found")
        found = (await admin.get("/v1/models", params={"q": "adder"})).json()
        assert "adder" not in [item["name"] for item in found["items"]]

    [event] = [
        e["data"]
        for e in await outbox_events(stack, "catalog", "ada/adder/")
        if e["type"] == "modelbay.model.deleted.v1"
    ]
    assert event["versions"] == [adder]
    [image_ref] = event["image_refs"]
    assert image_ref.startswith(f"127.0.0.1:5000/ada/adder:{adder}@sha256:")
    assert event["deleted_by"] == "ada"
    assert event["visibility"] == "public"

    # The solution was defined while the node existed; its image arrives after the deletion.
    refused = await _built(stack, ada, "ada", "calc", calc)
    assert refused["status"] == "failed"
    assert refused["reason"] == f'node "adder" (ada/adder:{adder}) was deleted'
    assert refused["image_ref"] is None


async def test_a_node_made_private_since_definition_refuses_the_build(
    stack: Stack, archive_bytes: bytes
) -> None:
    cleo, dov = await stack.new_user("cleo"), await stack.new_user("dov")
    scaler = await pushed_version(stack, cleo, "cleo", "scaler", archive_bytes)
    await ready_version(stack, cleo, "cleo", "scaler", scaler)
    await _publish(stack, cleo, "cleo", "scaler", "public")
    first = await _push_solution(stack, dov, "dov", "pipe", "scaler", f"cleo/scaler:{scaler}")
    second = await _push_solution(stack, dov, "dov", "pipe", "scaler", f"cleo/scaler:{scaler}")
    assert (await _built(stack, dov, "dov", "pipe", first))["status"] == "ready"

    async with stack.client(cleo) as client:
        # Another user's solution uses it: named only as a count (cleo may not see it).
        in_use = assert_problem(await client.delete("/v1/models/cleo/scaler"), 409, "model-in-use")
        assert in_use["solutions"] == []
        assert in_use["hidden_solutions"] == 2
    await _publish(stack, cleo, "cleo", "scaler", "private")

    refused = await _built(stack, dov, "dov", "pipe", second)
    assert refused["status"] == "failed"
    assert refused["reason"] == (
        f'node "scaler" (cleo/scaler:{scaler}) is private now: dov may no longer use it'
    )


async def test_modelbay_delete_asks_first_over_http(stack: Stack, archive_bytes: bytes) -> None:
    """The CLI against the gateway served over a real socket (uvicorn in this loop, the CLI's
    synchronous client in a thread): no deletes, `y` deletes, a second time is 404."""
    gil = await stack.new_user("gil")
    version = await pushed_version(stack, gil, "gil", "adder", archive_bytes)
    await stack.wait_for_version(gil, "gil", "adder", version)
    config = uvicorn.Config(stack.gateway_app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(600):  # uvicorn sets `started` once its socket listens
        if server.started:
            break
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    args = ["delete", "gil/adder", "--url", f"http://127.0.0.1:{port}", "--token", gil]
    runner = CliRunner()
    try:
        kept = await asyncio.to_thread(runner.invoke, build_app(), args, input="n\n")
        assert kept.exit_code == 1, kept.output
        assert "Delete the model gil/adder and its 1 version(s)? This cannot be undone" in (
            kept.output
        )
        assert "Nothing deleted." in kept.output
        async with stack.client(gil) as client:
            assert (await client.get("/v1/models/gil/adder")).status_code == 200
        gone = await asyncio.to_thread(runner.invoke, build_app(), args, input="y\n")
        assert gone.exit_code == 0, gone.output
        assert "Deleted gil/adder (versions: 1); its name cannot be pushed again." in gone.output
        again = await asyncio.to_thread(runner.invoke, build_app(), [*args, "--yes"])
        assert again.exit_code == 1
        assert "gil/adder" in again.output
    finally:
        server.should_exit = True
        await serving
