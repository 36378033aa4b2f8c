"""What the catalog's lean path (fast_reads.py) takes on itself and what it hands to FastAPI,
without I/O; that its answers equal FastAPI's is test_catalog_lean_reads.py's (real Postgres)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from modelbay_catalog.fast_reads import LeanReads, caller_headers, page_size, search_arguments
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.records import SearchSort
from modelbay_catalog.rules import Category
from modelbay_catalog.settings import CatalogSettings

SETTINGS = CatalogSettings(database_url="postgresql://unused/unused", bus_url="memory://")


def test_a_plain_search_query_is_read_as_the_route_reads_it() -> None:
    query = b"q=iris+fl%C3%B6wer&category=nlp&status=ready&kind=model&sort=downloads&facets=true"
    arguments = search_arguments(query + b"&limit=7&cursor=abc&library=&owner=alice", SETTINGS)
    assert arguments is not None
    assert arguments.criteria == {
        "q": "iris flöwer",
        "library": "",
        "license": None,
        "owner": "alice",
        "category": Category("nlp"),
        "status": VersionStatus.READY,
        "kind": "model",
        "sort": SearchSort.DOWNLOADS,
    }
    assert (arguments.limit, arguments.cursor, arguments.facets) == (7, "abc", True)
    empty = search_arguments(b"", SETTINGS)
    assert empty is not None
    assert (empty.limit, empty.cursor, empty.facets) == (SETTINGS.search_default_limit, None, False)


@pytest.mark.parametrize(
    "query",
    [
        b"category=toys",
        b"category=",
        b"sort=popular",
        b"status=sleeping",
        b"kind=both",
        b"facets=yes",
        b"facets=",
        b"limit=0",
        b"limit=05",
        b"limit=+5",
        b"limit=5.0",
        b"limit=101",
        b"limit=",
        b"q=" + b"x" * 501,
        b"cursor=" + b"c" * 1001,
        b"q=a&q=b",
        b"page=2",
    ],
)
def test_anything_the_route_might_read_otherwise_is_handed_over(query: bytes) -> None:
    assert search_arguments(query, SETTINGS) is None


def test_page_size_is_bounded_by_the_deployments_maximum() -> None:
    assert page_size("100", SETTINGS) == 100
    assert page_size("101", SETTINGS) is None
    small = CatalogSettings(
        database_url="postgresql://unused/unused", bus_url="memory://", search_max_limit=10
    )
    assert page_size("11", small) is None
    assert page_size(None, small) == small.search_default_limit


def test_caller_headers_are_the_five_the_rule_reads_and_a_repeated_one_is_handed_over() -> None:
    scope: dict[str, Any] = {
        "headers": [
            (b"x-modelbay-user", b"alice"),
            (b"x-modelbay-orgs", b"acme=reader"),
            (b"x-modelbay-signature", b"v1=..."),
            (b"accept", b"*/*"),
        ]
    }
    assert caller_headers(scope) == {"X-Modelbay-User": "alice", "X-Modelbay-Orgs": "acme=reader"}
    scope["headers"].append((b"x-modelbay-user", b"bob"))
    assert caller_headers(scope) is None


class RecordingApp:
    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope)


@pytest.mark.parametrize(
    "change",
    [
        {"method": "HEAD"},
        {"method": "POST"},
        {"root_path": "/catalog"},
        {"fastapi.telemetry": object()},  # FastAPI's native telemetry observes this request
        {"path": "/internal/models/"},
        {"path": "/internal/models/alice/iris/versions/1"},
        {"type": "websocket"},
        {"dependency_overrides": {object(): object()}},  # a test replaced a dependency
    ],
)
async def test_requests_it_does_not_serve_reach_the_app_untouched(change: dict[str, Any]) -> None:
    overrides = change.pop("dependency_overrides", {})
    catalog = SimpleNamespace(
        state=SimpleNamespace(settings=SETTINGS), dependency_overrides=overrides
    )
    app = RecordingApp()
    lean = LeanReads(app, catalog=catalog)  # type: ignore[arg-type]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/internal/models/alice/iris",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        **change,
    }
    await lean(scope, None, None)  # type: ignore[arg-type]
    assert app.scopes == [scope]
    assert "route" not in scope
