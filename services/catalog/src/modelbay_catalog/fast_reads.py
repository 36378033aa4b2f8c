"""The catalog's two hottest reads answered without FastAPI's per-request machinery (issue 9).

`GET /internal/models` (search) and `GET /internal/models/{owner}/{name}` (the model page) are
most of what the catalog serves. Through FastAPI each pays for routing over every route,
dependency solving (five caller headers, up to eleven query parameters validated one by one
by pydantic, two yield dependencies in exit stacks) and a `Request`: about as much CPU as the
use case itself (docs/benchmarks.md, "Catalog search", session 6).

`LeanReads` is a pure ASGI middleware installed innermost, inside the metrics, internal-auth
and unhandled-error middlewares: those still count, verify the signature of, and catch these
requests as they do every other. For the two routes it reads the query and the caller headers
itself and runs the very functions the routes run (`api.search_criteria`, `api.search_answer`,
`api.model_page_answer`) on a session from the same factory, closed before the answer starts
(as the routes' `scope="function"` dependency is), and sends the same `Response`. It sets
`scope["route"]` to the route FastAPI would have matched, so the metrics label it the same.

Anything it is not sure of goes to the app unchanged, so the framework's answer stays the
answer there:
- another method or path, or a root path;
- a request FastAPI's native telemetry observes (a tracer, meter or logger provider is
  configured): its spans and OpenTelemetry metrics stay the framework's;
- an app whose dependencies are overridden (`app.dependency_overrides`, tests);
- a query parameter the route does not declare, one given twice, or a value the route would
  refuse (its 422 problem+json), and a caller header given twice.
A use case's own error (404 for a model the caller may not see, 400 for a bad cursor or caller
header) is rendered by the function the app's handler uses. `MODELBAY_CATALOG_LEAN_READS=false`
turns the lean path off (docs/catalog.md).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from modelbay_common.access import (
    ADMIN_HEADER,
    MEMBERSHIPS_HEADER,
    ORG_HEADER,
    PUBLISHER_HEADER,
    USER_HEADER,
    Caller,
    InvalidCallerHeaderError,
    caller_from_headers,
)
from modelbay_common.db import SessionFactory
from modelbay_common.errors import ModelbayError, modelbay_error_response
from modelbay_common.lean_asgi import (
    PLAIN_BOOLEANS,
    declared_values,
    may_take,
    route_of,
    single_valued_query,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from modelbay_catalog import api
from modelbay_catalog.errors import InvalidCallerHeader
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.records import SearchSort
from modelbay_catalog.rules import Category
from modelbay_catalog.settings import CatalogSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

SEARCH_PATH = "/internal/models"
MODEL_PAGE = re.compile(r"/internal/models/([^/]+)/([^/]+)")

# The caller headers as ASGI carries them (lower-case names), with the names the shared rule
# reads; FastAPI's `Header()` parameters look them up by these lower-case aliases too.
_CALLER_HEADERS = {
    name.lower().encode("latin-1"): name
    for name in (USER_HEADER, ORG_HEADER, ADMIN_HEADER, PUBLISHER_HEADER, MEMBERSHIPS_HEADER)
}
# The search's parameters as `api.search` declares them: free text up to a length, or one of
# a fixed set of values (an enum or a literal), `facets` a boolean, `limit` a page size.
_TEXT_MAX_LENGTH: dict[str, int | None] = {
    "q": 500,
    "library": 200,
    "license": 200,
    "owner": 200,
    "cursor": 1000,
}
_CHOICES: dict[str, dict[str, Any]] = {
    "category": {member.value: member for member in Category},
    "status": {member.value: member for member in VersionStatus},
    "kind": {"model": "model", "solution": "solution"},
    "sort": {member.value: member for member in SearchSort},
}
# A page size as plain digits; anything else ("+5", "05", "5.0", " 5") goes to the app.
_PAGE_SIZE = re.compile(r"[1-9][0-9]{0,5}")
_SEARCH_PARAMETERS = frozenset({*_TEXT_MAX_LENGTH, *_CHOICES, "facets", "limit"})


class LeanReads:
    """Answer the search and the model page on the lean path; hand everything else to `app`."""

    def __init__(self, app: ASGIApp, catalog: FastAPI) -> None:
        self.app = app
        self._catalog = catalog
        self._search_route = route_of(api.router, api.search)
        self._page_route = route_of(api.router, api.get_model)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not may_take(scope)
            or self._catalog.dependency_overrides  # a test replaced a route's dependency
        ):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == SEARCH_PATH:
            if not await self._search(scope, receive, send):
                await self.app(scope, receive, send)
            return
        page = MODEL_PAGE.fullmatch(path)
        if page is None or not await self._model_page(scope, receive, send, *page.groups()):
            await self.app(scope, receive, send)

    async def _search(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer a search; False (nothing sent) when the app should answer it."""
        settings = cast(CatalogSettings, self._catalog.state.settings)
        arguments = search_arguments(scope["query_string"], settings)
        headers = caller_headers(scope)
        if arguments is None or headers is None:
            return False
        scope["route"] = self._search_route

        async def answer(caller: Caller, session: Any) -> Response:
            criteria = api.search_criteria(**arguments.criteria)
            return await api.search_answer(
                session, caller, criteria, arguments.limit, arguments.cursor, arguments.facets
            )

        await self._answer(scope, receive, send, headers, answer)
        return True

    async def _model_page(
        self, scope: Scope, receive: Receive, send: Send, owner: str, name: str
    ) -> bool:
        headers = caller_headers(scope)
        if headers is None:
            return False
        scope["route"] = self._page_route

        async def answer(caller: Caller, session: Any) -> Response:
            return await api.model_page_answer(session, caller, owner, name)

        await self._answer(scope, receive, send, headers, answer)
        return True

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], answer: Any
    ) -> None:
        try:
            try:
                caller = caller_from_headers(headers)
            except InvalidCallerHeaderError as exc:
                raise InvalidCallerHeader(str(exc)) from None
            # The routes' read sessions (api._reads_only): connected at the first statement,
            # closed before the answer is sent.
            sessions = cast(SessionFactory, self._catalog.state.read_sessions)
            async with sessions() as session:
                response: Response = await answer(caller, session)
        except ModelbayError as exc:
            response = modelbay_error_response(exc, Request(scope).url.path)
        await response(scope, receive, send)


class SearchArguments:
    """A search's parameters, validated as `api.search` validates them."""

    __slots__ = ("criteria", "cursor", "facets", "limit")

    def __init__(
        self, criteria: dict[str, Any], limit: int, cursor: str | None, facets: bool
    ) -> None:
        self.criteria, self.limit, self.cursor, self.facets = criteria, limit, cursor, facets


def search_arguments(query_string: bytes, settings: CatalogSettings) -> SearchArguments | None:
    """The search's arguments, or None when the route should judge the query itself."""
    given = single_valued_query(query_string, _SEARCH_PARAMETERS, blank_allowed=True)
    if given is None:
        return None
    criteria = declared_values(given, _TEXT_MAX_LENGTH, _CHOICES)
    if criteria is None:
        return None
    facets = PLAIN_BOOLEANS.get(given.get("facets", "false"))
    limit = page_size(given.get("limit"), settings)
    if facets is None or limit is None:
        return None
    cursor = criteria.pop("cursor")
    return SearchArguments(criteria, limit, cursor, facets)


def page_size(given: str | None, settings: CatalogSettings) -> int | None:
    """`api._page_size` of a plain number within bounds; None for anything else."""
    if given is None:
        return settings.search_default_limit
    if _PAGE_SIZE.fullmatch(given) is None:
        return None
    size = int(given)
    return size if size <= settings.search_max_limit else None


def caller_headers(scope: Scope) -> dict[str, str] | None:
    """The caller headers sent (decoded as Starlette decodes them), or None if one is
    repeated: FastAPI reads the first of a repeated header, and that case is the app's."""
    found: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = _CALLER_HEADERS.get(raw_name)
        if name is not None:
            if name in found:
                return None
            found[name] = raw_value.decode("latin-1")
    return found


def install_lean_reads(catalog: FastAPI, settings: CatalogSettings) -> None:
    """Put `LeanReads` innermost of `catalog`'s middlewares (call before any other is added:
    Starlette wraps the first added innermost), unless the setting turns it off."""
    if settings.lean_reads:
        catalog.add_middleware(LeanReads, catalog=catalog)
