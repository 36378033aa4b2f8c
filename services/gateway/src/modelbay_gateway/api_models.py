"""Routes of models: push, search, read, publish (`/v1/models/...`)."""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from modelbay_common.contracts.catalog import (
    Category,
    ModelDeletion,
    ModelDetail,
    ModelKind,
    SearchPage,
    SearchSortName,
)
from modelbay_common.contracts.curation import PublishRequest

from modelbay_gateway.auth import Reader, SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.schemas import PublishIn, PushAcceptedOut, VersionOut
from modelbay_gateway.service_models import (
    caller_of,
    delete_model,
    get_model_forwarded,
    get_version,
    publish_model,
    push_version,
    search_models_forwarded,
    version_path,
)
from modelbay_gateway.version_ref import ResolvedVersion

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The bundle archive (`modelbay dump` + tar.gz), streamed.",
        "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


router = APIRouter(prefix="/v1/models", tags=["models"])


@router.post(
    "/{owner}/{name}/versions",
    status_code=202,
    response_model=PushAcceptedOut,
    openapi_extra=_UPLOAD_BODY,
)
async def push(
    owner: str, name: str, request: Request, principal: SignedIn, context: ContextDep
) -> JSONResponse:
    """Upload a bundle as the next version; the pipeline runs asynchronously from here."""
    accepted = await push_version(
        context.upstreams,
        principal,
        owner,
        name,
        request.stream(),
        headers=request.headers,
        max_bytes=context.settings.max_upload_bytes,
        pacing=(
            context.settings.upload_idle_timeout_seconds,
            context.settings.upload_min_bytes_per_second,
        ),
    )
    body = PushAcceptedOut.model_validate(accepted)
    return JSONResponse(body.model_dump(), status_code=202, headers={"Location": body.status_url})


@router.get("", response_model=SearchPage)
async def search(
    principal: Reader,
    context: ContextDep,
    q: Annotated[
        str | None, Query(max_length=500, description="words to search; typos tolerated")
    ] = None,
    category: Category | None = None,
    library: str | None = None,
    license: str | None = None,
    owner: str | None = None,
    status: str | None = None,
    kind: Annotated[
        ModelKind | None, Query(description="`solution`: solutions only; `model`: models only")
    ] = None,
    sort: Annotated[
        SearchSortName | None,
        Query(
            description="relevance (needs q) | downloads | rating | recent; default: relevance "
            "with q, else recent"
        ),
    ] = None,
    facets: Annotated[bool, Query(description="also count category, library, ...")] = False,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """Models the caller may see, best match first when `q` is given (keyset pages), with
    facet counts over every match on request (docs/api.md, "Search")."""
    # The answer is the catalog's `SearchPage` forwarded as bytes (upstream.forwarded_json).
    given = {
        "q": q,
        "category": category,
        "library": library,
        "license": license,
        "owner": owner,
        "status": status,
        "kind": kind,
        "sort": sort,
        "facets": "true" if facets else None,
        "limit": limit,
        "cursor": cursor,
    }
    params = {key: value for key, value in given.items() if value is not None}
    return await search_models_forwarded(context.upstreams, caller_of(principal), params)


@router.get("/{owner}/{name}", response_model=ModelDetail)
async def model(owner: str, name: str, principal: Reader, context: ContextDep) -> Response:
    """A model and its versions (404 when it does not exist or the caller may not see it)."""
    # The catalog's `ModelDetail` forwarded as bytes (upstream.forwarded_json).
    return await get_model_forwarded(context.upstreams, caller_of(principal), owner, name)


@router.delete(
    "/{owner}/{name}",
    response_model=ModelDeletion,
    responses={
        403: {"description": "`deletion-not-allowed`: you may see it but not change it"},
        404: {"description": "`model-not-found`: no such model, deleted, or not visible"},
        409: {"description": "`model-in-use`: a live solution uses one of its versions"},
    },
)
async def delete(
    owner: str,
    name: str,
    principal: SignedIn,
    context: ContextDep,
    force: Annotated[
        bool, Query(description="delete even when a solution uses one of its versions")
    ] = False,
) -> ModelDeletion:
    """Delete a model and every version of it (the owner, an owner or maintainer of the owning
    organisation, or an administrator). A soft delete: 404 from then on everywhere, the name is
    not reused, `modelbay.model.deleted.v1` is sent (docs/catalog.md, "Deleting a model")."""
    return await delete_model(context.upstreams, caller_of(principal), owner, name, force=force)


@router.get("/{owner}/{name}/versions/{version}", response_model=VersionOut)
async def version(
    owner: str, name: str, version: ResolvedVersion, principal: Reader, context: ContextDep
) -> VersionOut:
    """Status (with the reason of a failure), image, `docker pull` line and interface.
    `{version}` is a number or an alias (`stable`, `latest`)."""
    detail = await get_version(context.upstreams, caller_of(principal), owner, name, version)
    return VersionOut.of(detail, version_path(owner, name, version))


@router.post(
    "/{owner}/{name}/publish",
    response_model=VersionOut,
    responses={202: {"model": PublishRequest, "description": "waits for a publisher"}},
)
async def publish(
    owner: str, name: str, body: PublishIn, principal: SignedIn, context: ContextDep
) -> VersionOut | JSONResponse:
    """Make a ready version discoverable (the owner, maintainers of an owning organisation, or
    an administrator). With publish approval on, `public` answers 202 with a publish request."""
    outcome = await publish_model(
        context.upstreams, caller_of(principal), owner, name, body.model_dump(exclude_none=True)
    )
    if isinstance(outcome, PublishRequest):
        location = f"/v1/publish-requests/{outcome.id}"
        content = outcome.model_dump(mode="json")
        return JSONResponse(content, status_code=202, headers={"Location": location})
    return VersionOut.of(outcome, version_path(owner, name, outcome.version))
