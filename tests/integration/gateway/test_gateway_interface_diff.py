"""Push v1, then v2 with an input field removed: the catalog records the breaking interface
diff from the two descriptor sets, `/v1` returns it, and `modelbay push` (over real HTTP) says so.
Search through the gateway tolerates a typo and counts facets."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import uvicorn
from gateway_bundle_v2 import make_bundle
from gateway_stack import Stack
from modelbay.cli import build_app
from typer.testing import CliRunner


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def serve_over_http(stack: Stack) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    port = free_port()
    config = uvicorn.Config(
        stack.gateway_app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the gateway did not start"
        await asyncio.sleep(0.05)
    return server, serving


async def test_a_push_that_removes_an_input_field_is_recorded_and_reported_as_breaking(
    stack: Stack, archive_bytes: bytes, tmp_path: Path
) -> None:
    dora = await stack.new_user("dora")
    first = await stack.push(dora, "dora", "adder", archive_bytes)
    assert first.status_code == 202, first.text
    v1 = await stack.wait_for_version(dora, "dora", "adder", 1)
    assert v1["interface_diff"] is None  # the first version has nothing to compare with

    server, serving = await serve_over_http(stack)
    url = f"http://127.0.0.1:{server.config.port}"
    try:
        bundle = make_bundle(tmp_path)
        command = ["push", str(bundle), "--name", "dora/adder", "--url", url, "--token", dora]
        # The CLI is synchronous: it runs in a thread while this loop serves the gateway.
        result = await asyncio.to_thread(CliRunner().invoke, build_app(), command)
    finally:
        server.should_exit = True
        await serving
    assert result.exit_code == 0, result.output
    assert "version 2" in result.output
    assert "interface changed: 1 breaking change(s): add: input field y (double, 2) removed" in (
        " ".join(result.output.split())
    )

    v2 = await stack.wait_for_version(dora, "dora", "adder", 2)
    diff = v2["interface_diff"]
    assert diff["compared_to"] == 1
    assert diff["breaking"] is True
    assert (diff["breaking_changes"], diff["additive_changes"]) == (1, 0)
    [change] = diff["changes"]
    assert change == {
        "kind": "field_removed",
        "classification": "breaking",
        "method": "add",
        "direction": "input",
        "path": "y",
        "before": "double, 2",
        "after": None,
        "message": "add: input field y (double, 2) removed",
    }
    async with stack.client(dora) as client:
        model = (await client.get("/v1/models/dora/adder")).json()
    summaries = {version["version"]: version["interface_diff"] for version in model["versions"]}
    assert summaries == {
        1: None,
        2: {"compared_to": 1, "breaking": True, "breaking_changes": 1, "additive_changes": 0},
    }


async def test_search_through_the_gateway_tolerates_a_typo_and_counts_facets(
    stack: Stack, archive_bytes: bytes
) -> None:
    erin = await stack.new_user("erin")
    pushed = await stack.push(erin, "erin", "summarizer", archive_bytes)
    assert pushed.status_code == 202, pushed.text
    await stack.wait_for_version(erin, "erin", "summarizer", 1)
    async with stack.client(erin) as client:
        found = await client.get(
            "/v1/models", params={"q": "sumarizer", "facets": "true", "sort": "relevance"}
        )
        bad = await client.get("/v1/models", params={"sort": "popular"})
    assert found.status_code == 200, found.text
    body = found.json()
    assert [item["name"] for item in body["items"]] == ["summarizer"]
    assert body["sort"] == "relevance"
    assert body["facets"]["owner"] == [{"value": "erin", "count": 1}]
    assert body["facets"]["status"] == [{"value": "uploaded", "count": 1}]
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
