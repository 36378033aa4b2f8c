"""The gateway's lean path (lean_reads.py) answers the search and a model's read exactly as
FastAPI does, over real sockets.

Two gateways on one real Postgres database, each served by uvicorn on a loopback port as a
process serves it (`modelbay_common.http_server.server_config`), both calling one catalog served
the same way: one with the defaults (the lean path, and the internal read signed and sent on the
lean transport without httpx's client: `Upstreams.forwarded_read`), one with `lean_reads=False`
and `upstream_lean_reads=False` (FastAPI, and httpx's own transport). Every case goes to both:
status, body bytes and every header (but the server's `date`) must be the same, and so must
the Prometheus request series each adds. Cases cover public, private and missing models, each
search parameter, values FastAPI refuses (its 422, handed over), problems the catalog answers
(relayed), callers without a token or with a bad one (401, handed over), and a client at its
failed-authentication limit (429, handed over). Each case also says whether the lean path must
have answered it itself, so the test cannot pass by the lean path never running.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from gateway_curation import ready_model
from gateway_services import in_process_services
from gateway_stack import ADMIN_TOKEN, Stack
from modelbay_common.http_server import server_config
from modelbay_common.metrics import platform_metrics
from modelbay_gateway import lean_reads
from modelbay_gateway.main import build_service
from modelbay_gateway.settings import GatewaySettings
from modelbay_runtime.lean_http import LeanTransport

WAIT = 30.0  # a guard against hanging, never an assertion on speed
FAILURE_LIMIT = 6
PUBLISH = {"description": "Lean reads", "category": "vision", "license": "MIT"}


@dataclass(frozen=True)
class Case:
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    token: str | None = "reader"  # a key of World.tokens, a literal header value, or None
    lean: bool = True  # whether the lean path answers it (else it hands it to FastAPI)


@dataclass
class World:
    lean: httpx.AsyncClient
    framework: httpx.AsyncClient
    tokens: dict[str, str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """`app` under uvicorn on a loopback port, with the settings every service runs with."""
    port = _free_port()
    server = uvicorn.Server(
        server_config(app, host="127.0.0.1", port=port, header_timeout=10, keep_alive=5)
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, WAIT)


async def publish_models(stack: Stack, archive: bytes) -> dict[str, str]:
    tokens = {
        "owner": await stack.new_user("leanowner"),
        "reader": await stack.new_user("leanreader"),
    }
    for name in ("lean-first", "lean-second", "lean-third"):
        await ready_model(stack, tokens["owner"], "leanowner", name, archive)
        async with stack.client(tokens["owner"]) as client:
            published = await client.post(f"/v1/models/leanowner/{name}/publish", json=PUBLISH)
            assert published.status_code == 200, published.text
    hidden = await stack.push(tokens["owner"], "leanowner", "lean-private", archive)
    assert hidden.status_code == 202, hidden.text
    await stack.wait_for_version(tokens["owner"], "leanowner", "lean-private", 1)
    tokens["admin"] = ADMIN_TOKEN
    return tokens


@pytest.fixture(scope="module")
async def world(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory, archive_bytes: bytes
) -> AsyncIterator[World]:
    blob_dir: Path = tmp_path_factory.mktemp("blobs")
    limits = {"auth_failure_limit": FAILURE_LIMIT}
    async with in_process_services(module_database_url, blob_dir, gateway=limits) as services:
        tokens = await publish_models(services.stack, archive_bytes)
        async with served(services.apps["catalog"]) as catalog_url:
            shared = {
                "database_url": module_database_url,
                "bus_url": "memory://",
                "blob_url": blob_dir.as_uri(),
                "log_json": False,
                "catalog_url": catalog_url,
                **limits,
            }
            # The lean path and the lean internal hop, against FastAPI and httpx's transport.
            lean_gateway = build_service(GatewaySettings(**shared))
            plain_gateway = build_service(
                GatewaySettings(**shared, lean_reads=False, upstream_lean_reads=False)
            )
            try:
                async with (
                    served(lean_gateway.app) as lean_url,
                    served(plain_gateway.app) as plain_url,
                    httpx.AsyncClient(base_url=lean_url, timeout=WAIT) as lean,
                    httpx.AsyncClient(base_url=plain_url, timeout=WAIT) as plain,
                ):
                    yield World(lean, plain, tokens)
            finally:
                for gateway in (lean_gateway, plain_gateway):
                    await gateway.app.state.context.upstreams.aclose()
                    await gateway.stop()  # never started: disposes its engine


@pytest.fixture
def lean_answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the lean path answered itself (rather than handing them over), in order."""
    answered: list[str] = []
    original = lean_reads.LeanReads._answer

    async def counting(self: lean_reads.LeanReads, scope: Any, *args: Any) -> Any:
        answer = await original(self, scope, *args)
        if answer is not None:
            answered.append(scope["path"])
        return answer

    monkeypatch.setattr(lean_reads.LeanReads, "_answer", counting)
    return answered


def request_series() -> dict[tuple[tuple[str, str], ...], float]:
    """The gateway's `modelbay_http_requests` samples now, by their labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in platform_metrics().registry.collect():
        if family.name != "modelbay_http_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("service") == "gateway":
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def send(
    client: httpx.AsyncClient, case: Case, tokens: dict[str, str]
) -> tuple[httpx.Response, dict[Any, float]]:
    headers: dict[str, str] = {}
    if case.token is not None:
        token = tokens.get(case.token)
        headers["Authorization"] = f"Bearer {token}" if token else case.token
    before = request_series()
    response = await client.get(case.path, params=tuple(case.params), headers=headers)
    after = request_series()
    added = {key: value - before.get(key, 0.0) for key, value in after.items()}
    return response, {key: value for key, value in added.items() if value}


def compared_headers(response: httpx.Response) -> list[tuple[str, str]]:
    """Every header but the server's `date`, our own address taken out of a redirect's."""
    base = str(response.request.url.copy_with(path="/", query=None, fragment=None)).rstrip("/")
    return [
        (name, value.replace(base, "<gateway>"))
        for name, value in response.headers.multi_items()
        if name != "date"
    ]


async def assert_same(world: World, lean_answers: list[str], case: Case) -> httpx.Response:
    answered_before = len(lean_answers)
    lean, lean_series = await send(world.lean, case, world.tokens)
    assert (len(lean_answers) > answered_before) is case.lean, case
    plain, plain_series = await send(world.framework, case, world.tokens)
    assert (lean.status_code, lean.content) == (plain.status_code, plain.content), case
    assert compared_headers(lean) == compared_headers(plain), case
    assert lean_series == plain_series, case
    assert len(lean_series) == 1, case  # one request counted, under the same route label
    return lean


SEARCHES = [
    [],
    [("q", "lean")],
    [("q", "lean first"), ("facets", "true")],
    [("owner", "leanowner"), ("sort", "downloads"), ("limit", "2")],
    [("owner", "leanowner"), ("sort", "recent"), ("limit", "100"), ("facets", "false")],
    [("category", "vision"), ("license", "MIT"), ("kind", "model"), ("sort", "rating")],
    [("library", "scikit-learn"), ("status", "ready"), ("sort", "relevance"), ("q", "lean")],
    [("q", "leen")],  # a typo
    [("q", "x" * 500)],
]


async def test_searches_answer_the_same_and_the_lean_path_answers_them(
    world: World, lean_answers: list[str]
) -> None:
    for params in SEARCHES:
        for token in ("reader", "owner", "admin"):
            await assert_same(world, lean_answers, Case("/v1/models", params, token))
    first = await assert_same(
        world, lean_answers, Case("/v1/models", [("owner", "leanowner"), ("limit", "1")])
    )
    cursor = first.json()["next_cursor"]
    assert cursor
    params = [("owner", "leanowner"), ("limit", "1"), ("cursor", cursor)]
    assert (await assert_same(world, lean_answers, Case("/v1/models", params))).json()["items"]


async def test_a_model_answers_the_same_found_hidden_or_missing(
    world: World, lean_answers: list[str]
) -> None:
    found = await assert_same(world, lean_answers, Case("/v1/models/leanowner/lean-first"))
    assert found.status_code == 200
    own = Case("/v1/models/leanowner/lean-private", token="owner")
    assert (await assert_same(world, lean_answers, own)).status_code == 200
    for path in ("/v1/models/leanowner/lean-private", "/v1/models/leanowner/no-such-model"):
        hidden = await assert_same(world, lean_answers, Case(path))
        assert hidden.status_code == 404  # the catalog's no-leak problem, relayed


async def test_problems_the_catalog_answers_are_relayed_the_same(
    world: World, lean_answers: list[str]
) -> None:
    bad_cursor = await assert_same(world, lean_answers, Case("/v1/models", [("cursor", "nope")]))
    assert bad_cursor.status_code == 400
    assert bad_cursor.headers["content-type"] == "application/problem+json"


HANDED_OVER = [
    Case("/v1/models", [("category", "no-such-category")]),
    Case("/v1/models", [("limit", "0")]),
    Case("/v1/models", [("limit", "101")]),
    Case("/v1/models", [("limit", "05")]),
    Case("/v1/models", [("facets", "yes")]),
    Case("/v1/models", [("sort", "name")]),
    Case("/v1/models", [("q", "x" * 501)]),
    Case("/v1/models", [("q", "")]),
    Case("/v1/models", [("q", "a"), ("q", "b")]),
    Case("/v1/models", [("unknown", "1")]),
    Case("/v1/models/leanowner/lean-first", [("unknown", "1")]),
    Case("/v1/models/leanowner/lean-first/"),
    Case("/v1/models", token=None),
    Case("/v1/models", token="Basic bGVhbjpsZWFu"),
    Case("/v1/models", token="Bearer  two-spaces"),
]


async def test_what_the_lean_path_is_unsure_of_gets_the_frameworks_answer(
    world: World, lean_answers: list[str]
) -> None:
    for case in HANDED_OVER:
        await assert_same(world, lean_answers, Case(case.path, case.params, case.token, False))


async def test_the_lean_gateway_reads_the_catalog_without_httpx_client(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[bytes] = []
    original = LeanTransport.send_raw

    async def recording(self: LeanTransport, host: str, port: int, data: bytes, *rest: Any) -> Any:
        sent.append(data)
        return await original(self, host, port, data, *rest)

    monkeypatch.setattr(LeanTransport, "send_raw", recording)
    await assert_same(world, [], Case("/v1/models", [("q", "lean")], lean=False))
    await assert_same(world, [], Case("/v1/models/leanowner/lean-first", lean=False))
    # Only the lean gateway's two reads: the other gateway uses httpx's own transport.
    assert [data.split(b" ", 2)[:2] for data in sent] == [
        [b"GET", b"/internal/models?q=lean"],
        [b"GET", b"/internal/models/leanowner/lean-first"],
    ]
    assert all(b"\r\nx-modelbay-signature: v1=" in data.lower() for data in sent)


async def test_bad_tokens_and_a_client_at_its_limit_get_the_frameworks_401_and_429(
    world: World, lean_answers: list[str]
) -> None:
    # Last in the module: it brings this client to its limit on both gateways (the cases
    # above may have spent some of it: a header that is no bearer token is a failure too).
    statuses = []
    for _ in range(FAILURE_LIMIT + 1):
        bad = Case("/v1/models", token="Bearer mb_not-a-token", lean=False)
        statuses.append((await assert_same(world, lean_answers, bad)).status_code)
    assert statuses[0] == 401
    assert statuses[-1] == 429
    limited = await assert_same(world, lean_answers, Case("/v1/models", lean=False))
    assert limited.status_code == 429
