"""A model's page, a version's page (its pipeline, live over SSE), and file downloads.

Reads go through `get_model` / `get_version` as the visitor, so a model the visitor may not see
is the catalog's 404, rendered as the same 404 page as a model that does not exist. Downloads
use `open_blob_download` / `open_image_download`, the functions behind the `/v1` download
routes; the live pipeline subscribes to the gateway's event hub like `GET /v1/events`.
"""

# No `from __future__ import annotations`: FastAPI must see the Annotated aliases.
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from modelbay_common.access import can_change
from modelbay_common.api_params import INT32_MAX
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.contracts.curation import PublishRequest
from modelbay_common.refs import served_url
from starlette.background import BackgroundTask

from modelbay_gateway.clients import ClientLanguage
from modelbay_gateway.clients.download import client_package
from modelbay_gateway.clients.links import ClientPackageLink, client_links_for
from modelbay_gateway.downloads import open_blob_download, open_image_download
from modelbay_gateway.events_hub import EventFilter, format_sse
from modelbay_gateway.service_curation import latest_publish_request, list_aliases
from modelbay_gateway.upstream import Caller, Upstreams
from modelbay_gateway.web.catalog_answers import get_model, get_version, model_access
from modelbay_gateway.web.community import community_values
from modelbay_gateway.web.errors import HtmlErrorRoute
from modelbay_gateway.web.session import Visitor
from modelbay_gateway.web.snippets import DEFAULT_MODEL_URL, snippets_for
from modelbay_gateway.web.state import State, WebState
from modelbay_gateway.web.try_it import try_fields
from modelbay_gateway.web.views import (
    DOWNLOAD_KINDS,
    TERMINAL_STATUSES,
    pipeline_stages,
    ready_versions,
    shown_version,
)
from modelbay_gateway.web.visitors import Browsing

router = APIRouter(route_class=HtmlErrorRoute, include_in_schema=False)

# Stage times of the newest versions are shown in the versions table; older ones link to theirs.
VERSIONS_WITH_TIMES = 10
SSE_KEEPALIVE_SECONDS = 15.0
FileKind = ArtifactKind
VersionNumber = Annotated[int, Path(ge=1, le=INT32_MAX)]


async def _older_detail(
    upstreams: Upstreams,
    caller: Caller,
    owner: str,
    name: str,
    model: dict[str, Any],
    shown: int | None,
) -> dict[str, Any] | None:
    """The shown version's detail when it is older than the versions with times."""
    if shown is None or shown in _newest_numbers(model):
        return None
    return await get_version(upstreams, caller, owner, name, shown)


def _newest_numbers(model: dict[str, Any]) -> list[int]:
    numbers = sorted((int(v["version"]) for v in model.get("versions") or []), reverse=True)
    return numbers[:VERSIONS_WITH_TIMES]


def _try_values(
    visitor: Visitor, detail: dict[str, Any] | None, methods: list[dict[str, Any]]
) -> dict[str, Any]:
    """ "Try it" forms for a signed-in visitor of a ready version, or a note saying why not."""
    if detail is None or not methods:
        return {"try_forms": {}, "try_note": None}
    if detail.get("status") != "ready":
        return {"try_forms": {}, "try_note": "Try it runs ready versions only."}
    if visitor.principal is None:
        return {"try_forms": {}, "try_note": "Sign in to try this model here."}
    forms = {str(method["name"]): try_fields(method) for method in methods}
    return {"try_forms": forms, "try_note": None}


async def _version_details(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, model: dict[str, Any]
) -> dict[int, dict[str, Any]]:
    newest = _newest_numbers(model)
    details = await asyncio.gather(
        *(get_version(upstreams, caller, owner, name, number) for number in newest)
    )
    return dict(zip(newest, details, strict=True))


async def _publication_request(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, may_publish: bool
) -> PublishRequest | None:
    """The newest publish request, for those who may ask for publication (the owner, the
    owning organisation's maintainers): the page says it waits or why it was declined."""
    if not may_publish:
        return None  # publishers read requests in /reviews; everyone else has nothing to see
    return await latest_publish_request(upstreams, caller, owner, name)


CLIENT_TITLES = {"python": "Python", "typescript": "TypeScript", "java": "Java"}


def _client_links(
    owner: str, name: str, version: int | None, methods: list[dict[str, Any]]
) -> dict[str, ClientPackageLink]:
    """The generated client packages of the shown version (docs/clients.md)."""
    if version is None:
        return {}
    first = methods[0] if methods else {}
    path = f"/v1/models/{owner}/{name}/versions/{version}"
    method = str(first["name"]) if first.get("name") else None
    return client_links_for(
        owner, name, version, path, method, str(first.get("input_message") or "")
    )


def _base_url(detail: dict[str, Any]) -> str:
    """Where the example requests go: the embedded mode's local process, else `modelbay run`."""
    ref = str((detail.get("image") or {}).get("ref") or "")
    return served_url(ref) or DEFAULT_MODEL_URL


@router.get("/models/{owner}/{name}")
async def model_page(
    request: Request,
    state: State,
    visitor: Browsing,
    owner: str,
    name: str,
    version: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
) -> Response:
    return await render_model_page(request, state, visitor, owner, name, version, count_view=True)


async def render_model_page(
    request: Request,
    state: State,
    visitor: Visitor,
    owner: str,
    name: str,
    version: int | None,
    *,
    count_view: bool = False,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The model page; a community form that was refused comes back with its errors (422).

    One call for the model, then everything else at once: the newest versions' details, the
    shown version's (when older), the community's numbers, reviews and comments, the view.
    """
    upstreams, caller = state.context.upstreams, visitor.caller
    model = await get_model(upstreams, caller, owner, name)
    shown = shown_version(model, version)
    # The owner, the owning organisation's maintainers, administrators (the catalog's rule).
    may_publish = can_change(caller, model_access(model))
    details, community, older, aliases, publication = await asyncio.gather(
        _version_details(upstreams, caller, owner, name, model),
        community_values(upstreams, caller, owner, name, shown, count_view),
        _older_detail(upstreams, caller, owner, name, model, shown),
        list_aliases(upstreams, caller, owner, name),
        _publication_request(upstreams, caller, owner, name, may_publish),
    )
    detail = details.get(shown) if shown is not None else None
    detail = detail or older
    methods = ((detail or {}).get("interface") or {}).get("methods") or []
    base_url = _base_url(detail or {})
    values = {
        "visitor": visitor,
        "model": model,
        "detail": detail,
        "shown": shown,
        "details": details,
        "methods": methods,
        "snippets": [snippets_for(method, base_url) for method in methods],
        "clients": _client_links(owner, name, shown, methods) if detail else {},
        "client_titles": CLIENT_TITLES,
        "download_kinds": DOWNLOAD_KINDS,
        "is_owner": may_publish,
        "publication": publication,
        "aliases": aliases.model_dump(mode="json")["aliases"],
        "ready_versions": ready_versions(model),
        "stages": pipeline_stages(detail) if detail else [],
        **_try_values(visitor, detail, methods),
        "form": form or {},
        "errors": errors or {},
        **community,
    }
    status = 422 if errors else 200
    return state.templates.TemplateResponse(request, "model.html", values, status_code=status)


@dataclass(frozen=True)
class VersionAddress:
    """A version page's address and who opens it (a dependency: every version route takes it)."""

    state: WebState
    visitor: Visitor
    owner: str
    name: str
    version: int


async def version_address(
    state: State, visitor: Browsing, owner: str, name: str, version: VersionNumber
) -> VersionAddress:
    return VersionAddress(state, visitor, owner, name, version)


VersionAt = Annotated[VersionAddress, Depends(version_address)]


async def _version_page(request: Request, at: VersionAt, template: str) -> Response:
    upstreams, caller = at.state.context.upstreams, at.visitor.caller
    detail = await get_version(upstreams, caller, at.owner, at.name, at.version)
    values = {
        "visitor": at.visitor,
        "owner": at.owner,
        "name": at.name,
        "version": at.version,
        "detail": detail,
        "stages": pipeline_stages(detail),
        "finished": detail.get("status") in TERMINAL_STATUSES,
    }
    return at.state.templates.TemplateResponse(request, template, values)


@router.get("/models/{owner}/{name}/versions/{version}")
async def version_page(request: Request, at: VersionAt) -> Response:
    return await _version_page(request, at, "version.html")


@router.get("/models/{owner}/{name}/versions/{version}/pipeline")
async def pipeline_fragment(request: Request, at: VersionAt) -> Response:
    """The pipeline section alone: the page's script swaps it in when an event arrives."""
    return await _version_page(request, at, "_pipeline.html")


@router.get("/models/{owner}/{name}/versions/{version}/events")
async def version_events(at: VersionAt) -> Response:
    """This version's lifecycle events as SSE, for the signed-in browser (cookie, not bearer)."""
    visitor, context = at.visitor, at.state.context
    # 404 before subscribing when the visitor may not see the model; the hub filters again.
    await get_version(context.upstreams, visitor.caller, at.owner, at.name, at.version)
    hub = context.hub
    event_filter = EventFilter(owner=at.owner, name=at.name, version=at.version)

    async def stream() -> AsyncIterator[str]:
        with hub.subscribe(visitor.caller, event_filter) as subscription:
            yield "retry: 3000\n: connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(subscription.queue.get(), SSE_KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if event is None:
                    return
                yield format_sse(event)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/models/{owner}/{name}/versions/{version}/files/{kind}")
async def download_file(at: VersionAt, kind: FileKind) -> Response:
    context, caller = at.state.context, at.visitor.caller
    address = (at.owner, at.name, at.version)
    if kind == "image":
        found = await open_image_download(context.upstreams, caller, *address)
    else:
        found = await open_blob_download(
            context.blob_store, context.upstreams, caller, *address, kind
        )
    return StreamingResponse(
        found.body,
        media_type=found.media_type,
        headers=found.headers,
        background=BackgroundTask(found.close.aclose) if found.close else None,
    )


@router.get("/models/{owner}/{name}/versions/{version}/clients/{language}")
async def download_client(at: VersionAt, language: ClientLanguage) -> Response:
    """The generated client package, as `/v1/.../clients/{language}` serves it."""
    context = at.state.context
    package = await client_package(
        context.blob_store,
        context.upstreams,
        at.visitor.caller,
        at.owner,
        at.name,
        at.version,
        language,
    )
    headers = {"Content-Disposition": f'attachment; filename="{package.filename}"'}
    return Response(package.content, media_type=package.media_type, headers=headers)
