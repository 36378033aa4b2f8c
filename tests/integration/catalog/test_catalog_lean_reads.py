"""The lean path (fast_reads.py) answers the search and the model page exactly as FastAPI does.

Two catalogs on one real Postgres database, one with `lean_reads` on (the fixture's), one with
it off, get the same requests; status, body bytes, media type, every header and the
Prometheus request series they add must be the same. The requests cover every kind of
caller, private, org and missing models (404), cursors, facets, each filter, bad parameters
(the framework's 422, which the lean path hands over) and the use case's own errors (400 for
a bad cursor or caller header, rendered by the lean path). Each case also says whether the lean
path must have answered it itself, so the test cannot pass by the lean path never running.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from catalog_events import RunningCatalog, headers, uploaded
from modelbay_catalog import fast_reads
from modelbay_catalog.main import build_service
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.internal_auth import InternalAuth
from modelbay_common.metrics import platform_metrics
from test_catalog_search import publish, ready_model

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Case:
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    caller: Headers = field(default_factory=list)
    lean: bool = True  # whether the lean path answers it (else it hands it to FastAPI)
    method: str = "GET"


def as_list(sent: dict[str, str]) -> Headers:
    return list(sent.items())


READER = as_list(headers("dan"))
OWNER = as_list(headers("alice"))
ADMIN = as_list(headers("root", admin=True))
ORG_MEMBER = as_list(headers("carol", org="acme"))
MEMBERSHIPS = [("X-Modelbay-User", "erin"), ("X-Modelbay-Orgs", "acme=reader")]
PUBLISHER = [("X-Modelbay-User", "pat"), ("X-Modelbay-Publisher", "true")]
ANONYMOUS: Headers = []
CALLERS = [READER, OWNER, ADMIN, ORG_MEMBER, MEMBERSHIPS, PUBLISHER, ANONYMOUS]


@pytest.fixture
async def framework_client(catalog: RunningCatalog) -> AsyncIterator[httpx.AsyncClient]:
    """The same catalog (same database, engine and bus) built with the lean path off."""
    settings = CatalogSettings(
        database_url=catalog.service.clients.database_url, bus_url="memory://", lean_reads=False
    )
    service = build_service(settings, engine=catalog.service.engine, bus=catalog.bus)
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://catalog", auth=InternalAuth()
    ) as client:
        yield client


@pytest.fixture
def lean_answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the lean path answered itself, in order."""
    answered: list[str] = []
    original = fast_reads.LeanReads._answer

    async def counting(self: fast_reads.LeanReads, scope: Any, *args: Any) -> None:
        answered.append(scope["path"])
        await original(self, scope, *args)

    monkeypatch.setattr(fast_reads.LeanReads, "_answer", counting)
    return answered


def request_series() -> dict[tuple[tuple[str, str], ...], float]:
    """The catalog's `modelbay_http_requests` samples now, by their labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in platform_metrics().registry.collect():
        if family.name != "modelbay_http_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("service") == "catalog":
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def send(client: httpx.AsyncClient, case: Case) -> tuple[httpx.Response, dict[Any, float]]:
    before = request_series()
    params = tuple(case.params)  # a tuple: httpx types a list of pairs invariantly
    response = await client.request(case.method, case.path, params=params, headers=case.caller)
    after = request_series()
    added = {key: value - before.get(key, 0.0) for key, value in after.items()}
    return response, {key: value for key, value in added.items() if value}


async def assert_same(
    catalog: RunningCatalog,
    framework: httpx.AsyncClient,
    lean_answers: list[str],
    case: Case,
) -> httpx.Response:
    answered_before = len(lean_answers)
    lean, lean_series = await send(catalog.client, case)
    assert (len(lean_answers) > answered_before) is case.lean, case
    plain, plain_series = await send(framework, case)
    assert (lean.status_code, lean.content) == (plain.status_code, plain.content), case
    assert lean.headers.multi_items() == plain.headers.multi_items(), case
    assert lean_series == plain_series, case
    assert len(lean_series) == 1, case  # one request counted, under the same route label
    return lean


async def seed(catalog: RunningCatalog) -> None:
    await ready_model(catalog, "alice", "iris", description="Predicts iris species")
    await publish(catalog, "alice", "iris", "Predicts the species of iris flowers")
    await ready_model(catalog, "alice", "secret", description="secret sauce")  # private
    await ready_model(catalog, "alice", "shared", owner_org="acme")
    await publish(catalog, "alice", "shared", "team model for flowers", visibility="org")
    await ready_model(catalog, "bob", "trees", requirements=("xgboost==2.1.0",))
    await publish(catalog, "bob", "trees", "boosted trees", category="regression")
    # A second version with another interface: the page shows its diff and downloads.
    await catalog.deliver(uploaded("bob", "trees", 2, inputs=("height",)))
    for kind in ("bundle", "bundle", "proto"):
        answer = await catalog.client.post(
            "/internal/models/bob/trees/versions/1/downloads",
            json={"kind": kind},
            headers=headers("dan"),
        )
        assert answer.status_code == 200, answer.text
    for number in range(4):
        await ready_model(catalog, "carol", f"flower-{number}")
        await publish(catalog, "carol", f"flower-{number}", f"flower model number {number}")


SEARCHES: list[list[tuple[str, str]]] = [
    [],
    [("q", "iris")],
    [("q", "iirs")],  # a typo
    [("q", "flow")],  # a prefix
    [("q", "flow ")],  # a finished word
    [("q", "")],
    [("q", "   ")],
    [("q", '"iris flowers" -trees')],  # websearch syntax
    [("q", "flower"), ("facets", "true")],
    [("facets", "true")],
    [("facets", "false"), ("limit", "2")],
    [("category", "regression")],
    [("library", "xgboost")],
    [("library", "")],
    [("license", "MIT"), ("owner", "carol")],
    [("status", "ready"), ("owner", "alice")],
    [("kind", "model"), ("sort", "downloads")],
    [("kind", "solution")],
    [("sort", "rating")],
    [("sort", "recent"), ("limit", "100")],
    [("sort", "relevance")],  # relevance without words: recent
    [("cursor", "")],
]
# Refused or unusual: the lean path hands these to FastAPI (its 422, or its reading).
HANDED_OVER: list[list[tuple[str, str]]] = [
    [("category", "toys")],
    [("category", "")],
    [("limit", "0")],
    [("limit", "101")],
    [("limit", "ten")],
    [("limit", "05")],  # valid for pydantic: the app answers it
    [("limit", "")],
    [("facets", "yes")],
    [("facets", "maybe")],
    [("sort", "popular")],
    [("status", "sleeping")],
    [("kind", "both")],
    [("q", "x" * 501)],
    [("owner", "o" * 201)],
    [("cursor", "c" * 1001)],
    [("q", "iris"), ("q", "trees")],  # given twice
    [("page", "2")],  # not a parameter of the route
]


async def test_the_search_answers_the_same_both_ways(
    catalog: RunningCatalog, framework_client: httpx.AsyncClient, lean_answers: list[str]
) -> None:
    await seed(catalog)
    for caller in CALLERS:
        for params in SEARCHES:
            case = Case("/internal/models", params, caller)
            await assert_same(catalog, framework_client, lean_answers, case)
    for params in HANDED_OVER:
        case = Case("/internal/models", params, READER, lean=False)
        await assert_same(catalog, framework_client, lean_answers, case)


async def test_cursors_continue_the_same_way_and_bad_ones_are_refused_alike(
    catalog: RunningCatalog, framework_client: httpx.AsyncClient, lean_answers: list[str]
) -> None:
    await seed(catalog)
    for sort in ("recent", "downloads", "relevance"):
        params = [("limit", "2"), ("sort", sort), ("q", "flower")]
        cursor: str | None = None
        for _ in range(5):
            page = params + ([("cursor", cursor)] if cursor else [])
            case = Case("/internal/models", page, READER)
            answer = await assert_same(catalog, framework_client, lean_answers, case)
            cursor = answer.json()["next_cursor"]
            if cursor is None:
                break
        else:
            pytest.fail(f"the pages of sort={sort} never ended")
    first = await catalog.client.get(
        "/internal/models", params={"limit": "1"}, headers=dict(READER)
    )
    someone_elses = first.json()["next_cursor"]
    assert someone_elses
    for params in (
        [("cursor", "not-a-cursor")],
        [("cursor", someone_elses), ("sort", "downloads")],  # from another search: 400
    ):
        case = Case("/internal/models", [("limit", "1"), *params], READER)
        refused = await assert_same(catalog, framework_client, lean_answers, case)
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
    stranger = Case("/internal/models", [("limit", "1"), ("cursor", someone_elses)], OWNER)
    assert (await assert_same(catalog, framework_client, lean_answers, stranger)).status_code == 400


async def test_the_model_page_answers_the_same_both_ways(
    catalog: RunningCatalog, framework_client: httpx.AsyncClient, lean_answers: list[str]
) -> None:
    await seed(catalog)
    pages = [
        "/internal/models/alice/iris",
        "/internal/models/alice/secret",  # private: 404 unless the owner or an admin
        "/internal/models/alice/shared",  # org: the org's members
        "/internal/models/bob/trees",  # two versions, an interface diff, downloads
        "/internal/models/alice/nothing-here",
        "/internal/models/caf%C3%A9/iris",  # escaped
    ]
    statuses = set()
    for caller in CALLERS:
        for path in pages:
            answer = await assert_same(
                catalog, framework_client, lean_answers, Case(path, caller=caller)
            )
            statuses.add(answer.status_code)
    assert statuses == {200, 404}
    handed_over = [
        Case("/internal/models/alice/iris/", caller=OWNER, lean=False),  # trailing slash
        Case("/internal/models/alice/iris", caller=OWNER, method="HEAD", lean=False),
        Case("/internal/models/alice/iris", caller=OWNER, method="PUT", lean=False),
        Case("/internal/models/alice/iris/versions/1", caller=OWNER, lean=False),
        Case("/internal/models/", caller=OWNER, lean=False),
    ]
    for case in handed_over:
        await assert_same(catalog, framework_client, lean_answers, case)


async def test_caller_headers_are_read_alike(
    catalog: RunningCatalog, framework_client: httpx.AsyncClient, lean_answers: list[str]
) -> None:
    await seed(catalog)
    for path in ("/internal/models", "/internal/models/alice/secret"):
        bad_flag = Case(path, caller=[("X-Modelbay-User", "alice"), ("X-Modelbay-Admin", "sure")])
        refused = await assert_same(catalog, framework_client, lean_answers, bad_flag)
        assert refused.status_code == 400
        bad_orgs = Case(path, caller=[("X-Modelbay-User", "erin"), ("X-Modelbay-Orgs", "acme")])
        await assert_same(catalog, framework_client, lean_answers, bad_orgs)
        twice = [("X-Modelbay-User", "alice"), ("X-Modelbay-User", "dan")]
        await assert_same(
            catalog, framework_client, lean_answers, Case(path, caller=twice, lean=False)
        )
        lower = [("x-modelbay-user", "alice"), ("x-modelbay-admin", "false")]
        await assert_same(catalog, framework_client, lean_answers, Case(path, caller=lower))
        blank = [("X-Modelbay-User", "")]
        await assert_same(catalog, framework_client, lean_answers, Case(path, caller=blank))


async def test_unsigned_requests_are_refused_before_either_path(
    catalog: RunningCatalog, framework_client: httpx.AsyncClient, lean_answers: list[str]
) -> None:
    transport = catalog.client._transport  # the same app, without the signing auth
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as unsigned:
        for path in ("/internal/models", "/internal/models/alice/iris"):
            answer = await unsigned.get(path, headers=dict(ADMIN))
            assert answer.status_code == 401
            assert answer.json()["type"].endswith("internal-auth-failed")
    assert lean_answers == []
