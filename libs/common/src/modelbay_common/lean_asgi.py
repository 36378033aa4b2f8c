"""What the services' lean read paths share (the catalog's `fast_reads.py`, the gateway's
`lean_reads.py`; issue 9): which requests such a path may take at all, the query string
decoded as Starlette decodes it, and the route object FastAPI would have put in the scope.

What each route accepts stays with each path: they mirror different route declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


# Only the spellings a client sends; pydantic's others ("yes", "on", "1", "True") are the route's.
PLAIN_BOOLEANS = {"true": True, "false": False}


def declared_values(
    given: Mapping[str, str],
    text_max_length: Mapping[str, int | None],
    choices: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any] | None:
    """Every declared text (None when absent) and choice (its value, None when absent) of the
    `given` parameters, or None when a text is longer than its bound (None: unbounded) or a
    choice is not one of its values: the route's 422, which the route must give."""
    values: dict[str, Any] = {}
    for key, most in text_max_length.items():
        text = given.get(key)
        if text is not None and most is not None and len(text) > most:
            return None
        values[key] = text
    for key, allowed in choices.items():
        chosen = given.get(key)
        if chosen is not None and chosen not in allowed:
            return None
        values[key] = None if chosen is None else allowed[chosen]
    return values


def route_of(router: APIRouter, endpoint: Callable[..., Any]) -> APIRoute:
    """The route object of `endpoint` in the module-level `router`: FastAPI puts that one (an
    included router's `original_route`) in `scope["route"]` when it matches, so metrics and
    spans label a lean answer with the same template."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is endpoint:
            return route
    raise LookupError(f"no route of {router!r} runs {endpoint.__name__}")
