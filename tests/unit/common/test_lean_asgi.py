"""The pieces the lean read paths share (modelbay_common.lean_asgi): which requests they may
take, the query decoded as Starlette decodes it, and the route object FastAPI would match."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter
from modelbay_common.lean_asgi import declared_values, may_take, route_of, single_valued_query
from starlette.datastructures import QueryParams

DECLARED = frozenset({"q", "limit"})


def _scope(**overrides: Any) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "root_path": "", **overrides}


def test_only_a_plain_get_may_be_taken() -> None:
    assert may_take(_scope())
    assert not may_take(_scope(method="HEAD"))
    assert not may_take(_scope(method="POST"))
    assert not may_take(_scope(type="websocket"))
    assert not may_take(_scope(root_path="/mounted"))
    assert not may_take(_scope(**{"fastapi.telemetry": object()}))


@pytest.mark.parametrize(
    "query",
    [b"q=caf%C3%A9+au+lait&limit=5", b"q=a%2Bb", b"q=%E9", b"", b"q=x;limit=2"],
)
def test_the_query_decodes_as_starlette_decodes_it(query: bytes) -> None:
    decoded = single_valued_query(query, DECLARED, blank_allowed=True)
    assert decoded == dict(QueryParams(query))


def test_undeclared_repeated_or_unwanted_blank_parameters_are_the_routes() -> None:
    assert single_valued_query(b"q=a&page=2", DECLARED, blank_allowed=True) is None
    assert single_valued_query(b"q=a&q=b", DECLARED, blank_allowed=True) is None
    assert single_valued_query(b"q=", DECLARED, blank_allowed=True) == {"q": ""}
    assert single_valued_query(b"q=", DECLARED, blank_allowed=False) is None


def test_the_route_object_is_the_routers_own() -> None:
    router = APIRouter()

    @router.get("/things/{name}")
    async def thing(name: str) -> str:
        return name

    async def stray() -> None:
        return None

    route = route_of(router, thing)
    assert route is router.routes[0]
    assert route.path == "/things/{name}"
    with pytest.raises(LookupError, match="stray"):
        route_of(router, stray)


def test_declared_values_are_bounded_texts_and_known_choices() -> None:
    bounds, choices = {"q": 3, "owner": None}, {"sort": {"recent": "RECENT"}}
    assert declared_values({"q": "abc", "sort": "recent"}, bounds, choices) == {
        "q": "abc",
        "owner": None,
        "sort": "RECENT",
    }
    assert declared_values({"owner": "x" * 1000}, bounds, choices) is not None  # unbounded
    assert declared_values({"q": "abcd"}, bounds, choices) is None  # the route's 422
    assert declared_values({"sort": "oldest"}, bounds, choices) is None
