"""What the services' lean read paths share (the catalog's `fast_reads.py`, the gateway's
`lean_reads.py`; issue 9): which requests such a path may take at all, the query string
decoded as Starlette decodes it, and the route object FastAPI would have put in the scope.

What each route accepts stays with each path: they mirror different route declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.types import Scope


def may_take(scope: Scope) -> bool:
    """An HTTP GET outside a mounted sub-application that FastAPI's native telemetry does not
    observe (its spans and OpenTelemetry metrics stay the framework's): anything else is the
    app's to answer."""
    return (
        scope["type"] == "http"
        and scope["method"] == "GET"
        and not scope.get("root_path")
        and scope.get("fastapi.telemetry") is None
    )


def single_valued_query(
    query_string: bytes, declared: frozenset[str], *, blank_allowed: bool
) -> dict[str, str] | None:
    """The query's parameters as `request.query_params` decodes them, or None when one is not
    `declared`, is given twice, or is blank where `blank_allowed` is false: cases the route
    itself must judge."""
    given: dict[str, str] = {}
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key not in declared or key in given or not (value or blank_allowed):
            return None
        given[key] = value
    return given


def route_of(router: APIRouter, endpoint: Callable[..., Any]) -> APIRoute:
    """The route object of `endpoint` in the module-level `router`: FastAPI puts that one (an
    included router's `original_route`) in `scope["route"]` when it matches, so metrics and
    spans label a lean answer with the same template."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is endpoint:
            return route
    raise LookupError(f"no route of {router!r} runs {endpoint.__name__}")
