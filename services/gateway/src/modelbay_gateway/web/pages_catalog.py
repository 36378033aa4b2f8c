"""The catalog page (search as you type, facets, keyset pages) and "my models".

Both call `search_models`, the function behind `GET /v1/models`, as the signed-in visitor, so
the page lists exactly what the API would.
"""

# No `from __future__ import annotations`: FastAPI must see the Annotated aliases.
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from modelbay_gateway.service_community import my_favourites
from modelbay_gateway.web.catalog_answers import search_models
from modelbay_gateway.web.errors import HtmlErrorRoute, signin_redirect
from modelbay_gateway.web.session import Visitor
from modelbay_gateway.web.state import State, is_htmx
from modelbay_gateway.web.views import CATEGORIES, SORTS, STATUSES
from modelbay_gateway.web.visitors import Browsing, SignedInVisitor, must_sign_in

# Kept importable from here: pages of other tasks import them from this module.
__all__ = ["must_sign_in", "router", "signin_redirect"]

router = APIRouter(route_class=HtmlErrorRoute, include_in_schema=False)

PAGE_SIZE = 20
Text = Annotated[str, Query(max_length=500)]


async def _search(
    state: State, visitor: Visitor, filters: dict[str, str], cursor: str
) -> dict[str, Any]:
    params: dict[str, str | int] = {key: value for key, value in filters.items() if value}
    if params.get("sort") == "relevance" and not filters.get("q"):
        del params["sort"]  # relevance needs words; without them the API's order applies
    params["limit"] = PAGE_SIZE
    if cursor:
        params["cursor"] = cursor
    else:
        params["facets"] = "true"  # counts for the filters, once per search (not per page)
    return await search_models(state.context.upstreams, visitor.caller, params)


def _next_link(path: str, filters: dict[str, str], cursor: str | None) -> str | None:
    if not cursor:
        return None
    query = {key: value for key, value in filters.items() if value}
    return f"{path}?{urlencode({**query, 'cursor': cursor})}"


async def _listing(
    request: Request,
    state: State,
    visitor: Visitor,
    filters: dict[str, str],
    cursor: str,
    template: str,
    **extra: Any,
) -> Response:
    page = await _search(state, visitor, filters, cursor)
    values = {
        "visitor": visitor,
        "filters": filters,
        "filtered": any(value for key, value in filters.items() if key != "sort"),
        "facets": page.get("facets") or {},
        "sort": page.get("sort"),
        "sorts": SORTS,
        "items": page["items"],
        "next_link": _next_link(request.url.path, filters, page.get("next_cursor")),
        "categories": CATEGORIES,
        "statuses": STATUSES,
        "continued": bool(cursor),
        **extra,
    }
    if is_htmx(request):
        # Another page of results replaces the "more" link; a new search replaces the list.
        template = "_cards.html" if cursor else "_results.html"
    response = state.templates.TemplateResponse(request, template, values)
    response.headers["Vary"] = "HX-Request"  # one URL, two bodies: caches must keep both
    return response


@router.get("/")
async def catalog(
    request: Request,
    state: State,
    visitor: Browsing,
    q: Text = "",
    category: Text = "",
    library: Text = "",
    license: Text = "",
    owner: Text = "",
    status: Text = "",
    sort: Text = "",
    kind: Text = "",
    cursor: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    filters = {"q": q.strip(), "category": category, "library": library.strip()}
    filters |= {"license": license, "owner": owner.strip(), "status": status, "sort": sort}
    # `?kind=solution` (the model page's solution badge links here); anything else lists all.
    filters["kind"] = kind if kind in ("model", "solution") else ""
    return await _listing(request, state, visitor, filters, cursor, "catalog.html")


@router.get("/my")
async def my_models(
    request: Request,
    state: State,
    visitor: SignedInVisitor,
    q: Text = "",
    category: Text = "",
    status: Text = "",
    sort: Text = "",
    cursor: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    filters = {"q": q.strip(), "category": category, "status": status, "sort": sort}
    filters["owner"] = visitor.username or ""
    starred: list[dict[str, Any]] = []
    if not is_htmx(request):
        found = await my_favourites(state.context.upstreams, visitor.caller)
        starred = [model.model_dump(mode="json") for model in found]
    return await _listing(
        request, state, visitor, filters, cursor, "my_models.html", starred=starred
    )
