"""The gateway's two hottest reads answered without FastAPI's per-request machinery (issue 9).

`GET /v1/models` (search) and `GET /v1/models/{owner}/{name}` (a model) are most of what the
catalog's readers send. Through FastAPI each paid for routing over the gateway's ~200 routes,
solving four dependencies (the bearer scheme, the caller, the context) and validating up to
eleven query parameters one by one with pydantic, and a `Request`: about as much of the
gateway's CPU as the signed internal call itself (docs/benchmarks.md, "Gateway CPU per request").

`LeanReads` is a pure ASGI middleware installed innermost, inside the tracing, metrics,
unhandled-error and page-header middlewares: those still trace, count, catch and pass these
requests as they do every other. For the two routes it authenticates the caller as `auth.py`
does (the failed-authentication throttle first, then `auth.resolved_token`: the principal cache,
else the database), parses the query as the route declares it, and calls the route's own
function (`api_models.search`, `api_models.model`): the signed internal hop and the answer are
the route's by construction. It sets `scope["route"]` to the route FastAPI would have matched,
so metrics and spans carry the same template.

Anything it is not sure of goes to the app unchanged, so the framework's answer stays the
answer there:
- another method or path, a root path, FastAPI's native telemetry configured;
- no `Authorization` header (anonymous reads), one that is not `Bearer <token>`, one given
  twice, a client at its failed-authentication limit, or a token nobody holds (the app answers
  401 and counts the failure, exactly once);
- a query parameter the route does not declare, one given twice or empty, or a value the route
  would refuse (its 422) or spell differently ("yes" for true, "05" for 5).
An internal service's answer that is not a success is rendered by the handlers the app uses
(the relayed 4xx problem, the generic 502/503). `MODELBAY_GATEWAY_LEAN_READS=false` turns the
lean path off (docs/services.md).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, get_args

from fastapi.routing import APIRoute
from modelbay_common.contracts.catalog import Category, ModelKind, SearchSortName
from modelbay_common.errors import ModelbayError, ProblemResponse, modelbay_error_response
from modelbay_common.lean_asgi import (
    PLAIN_BOOLEANS,
    declared_values,
    may_take,
    route_of,
    single_valued_query,
)
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from modelbay_gateway import api_models
from modelbay_gateway.auth import resolved_token
from modelbay_gateway.auth_throttle import FailedAuthThrottle, throttle_of_state
from modelbay_gateway.errors import UpstreamProblem

if TYPE_CHECKING:
    from fastapi import FastAPI

    from modelbay_gateway.context import GatewayContext

SEARCH_PATH = "/v1/models"
MODEL_PATH = re.compile(r"/v1/models/([^/]+)/([^/]+)")  # Starlette's `{param}`: `[^/]+`

# The search's parameters as `api_models.search` declares them: free text (bounded where the
# route bounds it), one of a fixed set of values, `facets` a boolean, `limit` 1-100.
_TEXT_MAX_LENGTH: dict[str, int | None] = {
    "q": 500,
    "library": None,
    "license": None,
    "owner": None,
    "status": None,
    "cursor": 1000,
}
_CHOICES: dict[str, dict[str, Any]] = {
    "category": {member.value: member for member in Category},
    "kind": {value: value for value in get_args(ModelKind)},
    "sort": {value: value for value in get_args(SearchSortName)},
}
_PAGE_SIZE = re.compile(r"[1-9][0-9]?|100")  # 1-100 as plain digits ("05", "+5": the app's)
_SEARCH_PARAMETERS = frozenset({*_TEXT_MAX_LENGTH, *_CHOICES, "facets", "limit"})
_BEARER = b"bearer "


class LeanReads:
    """Answer the search and a model's read on the lean path; hand everything else to `app`."""

    def __init__(self, app: ASGIApp, gateway: FastAPI, context: GatewayContext) -> None:
        self.app = app
        self._gateway = gateway
        self._context = context
        self._search_route = route_of(api_models.router, api_models.search)
        self._model_route = route_of(api_models.router, api_models.model)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not may_take(scope):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        answer: Response | None = None
        if path == SEARCH_PATH:
            arguments = search_arguments(scope["query_string"])
            if arguments is not None:
                answer = await self._answer(scope, self._search_route, api_models.search, arguments)
        elif (found := MODEL_PATH.fullmatch(path)) is not None and not scope["query_string"]:
            owner, name = found.groups()
            arguments = {"owner": owner, "name": name}
            answer = await self._answer(scope, self._model_route, api_models.model, arguments)
        if answer is None:
            await self.app(scope, receive, send)
        else:
            await answer(scope, receive, send)

    async def _answer(
        self, scope: Scope, route: APIRoute, endpoint: Any, arguments: dict[str, Any]
    ) -> Response | None:
        """The route's answer, or None (nothing done) when the app should answer."""
        secret = bearer_secret(scope)
        if secret is None:
            return None
        client = scope["client"][0] if scope.get("client") else "unknown"
        # As auth._principal_of: a client at its limit is refused before any lookup.
        if self._throttle().retry_after(client) is not None:
            return None
        resolved = await resolved_token(self._context, secret)
        if resolved is None:
            return None  # the app answers the 401 and counts the failure
        scope["route"] = route
        try:
            response: Response = await endpoint(
                principal=resolved.principal, context=self._context, **arguments
            )
        except UpstreamProblem as exc:
            # As api._relay_upstream_problem: the caller asked for our path, not the service's.
            problem = {**exc.problem, "instance": scope["path"]}
            return ProblemResponse(problem, status_code=exc.status)
        except ModelbayError as exc:
            return modelbay_error_response(exc, scope["path"])
        return response

    def _throttle(self) -> FailedAuthThrottle:
        return throttle_of_state(self._gateway.state)


def bearer_secret(scope: Scope) -> str | None:
    """The token of a single `Authorization: Bearer <token>` header (decoded as Starlette
    decodes headers), else None: no header, another scheme, or the header given twice."""
    found: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if found is not None:
                return None
            found = value
    if found is None or found[:7].lower() != _BEARER:
        return None
    secret = found[7:].decode("latin-1")
    # FastAPI strips the rest after the first space; a secret it would change is the app's.
    if not secret or secret != secret.strip():
        return None
    return secret


def search_arguments(query_string: bytes) -> dict[str, Any] | None:
    """The search route's keyword arguments, or None when the route should judge the query."""
    given = single_valued_query(query_string, _SEARCH_PARAMETERS, blank_allowed=False)
    if given is None:
        return None
    arguments = declared_values(given, _TEXT_MAX_LENGTH, _CHOICES)
    if arguments is None:
        return None
    facets = PLAIN_BOOLEANS.get(given.get("facets", "false"))
    limit = given.get("limit")
    if facets is None or (limit is not None and _PAGE_SIZE.fullmatch(limit) is None):
        return None
    arguments["facets"] = facets
    arguments["limit"] = None if limit is None else int(limit)
    return arguments


def install_lean_reads(gateway: FastAPI, context: GatewayContext) -> None:
    """Put `LeanReads` innermost of `gateway`'s middlewares (call before any other is added:
    Starlette wraps the first added innermost), unless the setting turns it off."""
    if context.settings.lean_reads:
        gateway.add_middleware(LeanReads, gateway=gateway, context=context)
