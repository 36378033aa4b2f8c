"""Internal HTTP API of the catalog (called by the gateway only; see docs/catalog.md).

Thin routes on a module-level router: read the caller from the gateway's headers, open one
transaction per request (sessions and settings come from `app.state` through typed
dependencies), call a use case, shape the answer as the shared contract
(`modelbay_common.contracts.catalog`). Errors are problem+json (modelbay_common.errors).
"""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from collections.abc import AsyncIterator
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
from modelbay_common.api_params import VersionNumber
from modelbay_common.contracts.catalog import (
    ModelDeletion,
    ModelDetail,
    ModelVisibility,
    SearchPage,
    VersionDetail,
)
from modelbay_common.contracts.curation import PublishRequest as PublishRequestContract
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.errors import install_problem_handlers
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.curation.schemas import request_out
from modelbay_catalog.curation.service import Stores, publish_or_request
from modelbay_catalog.curation.store import CurationStore
from modelbay_catalog.deletion import delete_model
from modelbay_catalog.errors import InvalidCallerHeader, ModelNameDeleted
from modelbay_catalog.federation.origins import (
    ensure_writable,
    model_with_origin,
    version_with_origin,
)
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.records import PublishRequest, SearchCriteria, SearchSort
from modelbay_catalog.rules import Category
from modelbay_catalog.schemas import (
    DownloadBody,
    PublishBody,
    model_deletion,
    model_detail,
    model_visibility,
    search_page,
    version_detail,
)
from modelbay_catalog.service import count_download, visible_version
from modelbay_catalog.service_queries import (
    model_for_event_filter,
    model_with_versions,
    search_models,
)
from modelbay_catalog.settings import CatalogSettings
from modelbay_catalog.store import CatalogStore
from modelbay_catalog.store_pages import ModelPageStore
from modelbay_catalog.store_search import SearchStore
from modelbay_catalog.store_solutions import SolutionStore


def request_caller(
    x_modelbay_user: Annotated[str | None, Header()] = None,
    x_modelbay_org: Annotated[str | None, Header()] = None,
    x_modelbay_admin: Annotated[str | None, Header()] = None,
    x_modelbay_publisher: Annotated[str | None, Header()] = None,
    x_modelbay_orgs: Annotated[
        str | None, Header(description="memberships: `org=role,...` (owner, maintainer, reader)")
    ] = None,
) -> Caller:
    """The gateway's word on who is calling (modelbay_common.access); no user is anonymous."""
    # Declared one by one so the internal OpenAPI lists the headers; decoded by the shared rule.
    sent = {
        USER_HEADER: x_modelbay_user,
        ORG_HEADER: x_modelbay_org,
        ADMIN_HEADER: x_modelbay_admin,
        PUBLISHER_HEADER: x_modelbay_publisher,
        MEMBERSHIPS_HEADER: x_modelbay_orgs,
    }
    try:
        return caller_from_headers(
            {name: value for name, value in sent.items() if value is not None}
        )
    except InvalidCallerHeaderError as exc:
        raise InvalidCallerHeader(str(exc)) from None


CallerDep = Annotated[Caller, Depends(request_caller)]


def create_app(
    sessions: SessionFactory, read_sessions: SessionFactory, settings: CatalogSettings
) -> FastAPI:
    """The internal API; `read_sessions` serve the hot read-only routes (main.open_read_engine)."""
    app = FastAPI(
        title="Modelbay catalog (internal)",
        description="Models, versions, status, visibility, search. Called by the gateway only.",
        version="1",
    )
    app.state.sessions, app.state.settings = sessions, settings
    app.state.read_sessions = read_sessions
    # Imported here: the lean path calls this module's functions. Installed first, so it sits
    # innermost, inside the error, internal-auth and metrics middlewares added after it.
    from modelbay_catalog.fast_reads import install_lean_reads

    install_lean_reads(app, settings)
    install_problem_handlers(app)
    app.include_router(router)
    # Imported here: the social routes use this module's typed dependencies.
    from modelbay_catalog.social.api import router as social_router

    app.include_router(social_router)
    from modelbay_catalog.curation.api import router as curation_router

    app.include_router(curation_router)
    from modelbay_catalog.federation.api import router as federation_router

    app.include_router(federation_router)
    from modelbay_catalog.api_gc import router as gc_router

    app.include_router(gc_router)
    return app


def _settings(request: Request) -> CatalogSettings:
    return cast(CatalogSettings, request.app.state.settings)


async def _unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    # The request owns the transaction: one commit after the use case, or a rollback.
    async with transaction(cast(SessionFactory, request.app.state.sessions)) as session:
        yield session


async def _reads_only(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for the hot read-only routes (search, the model page), which write nothing
    and need no single snapshot across their statements. It connects at its first statement,
    so a bad request is refused without a connection."""
    async with cast(SessionFactory, request.app.state.read_sessions)() as session:
        yield session


# scope="function": the transaction ends before the answer is sent. FastAPI's default ("request")
# runs a yield dependency's exit after the response, so a client could read the state from
# before its own write (tests/integration/gateway/test_catalog_commits_before_answering.py).
SessionDep = Annotated[AsyncSession, Depends(_unit_of_work, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(_reads_only, scope="function")]
SettingsDep = Annotated[CatalogSettings, Depends(_settings)]


def _page_size(
    settings: SettingsDep,
    limit: Annotated[
        int | None, Query(ge=1, description="page size (at most SEARCH_MAX_LIMIT, 100)")
    ] = None,
) -> int:
    """The requested page size, checked against this deployment's SEARCH_MAX_LIMIT."""
    if limit is None:
        return settings.search_default_limit
    most = settings.search_max_limit
    if limit > most:
        raise RequestValidationError(
            [
                {
                    "type": "less_than_equal",
                    "loc": ("query", "limit"),
                    "msg": f"Input should be less than or equal to {most}",
                    "input": limit,
                    "ctx": {"le": most},
                }
            ]
        )
    return limit


PageSize = Annotated[int, Depends(_page_size)]

router = APIRouter()


@router.get("/healthz", tags=["health"])
async def healthz(session: SessionDep) -> dict[str, str]:
    await session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/internal/models", response_model=SearchPage)
async def search(
    session: ReadSessionDep,
    caller: CallerDep,
    limit: PageSize,
    q: Annotated[
        str | None, Query(max_length=500, description="free text; typos tolerated")
    ] = None,
    category: Category | None = None,
    library: Annotated[str | None, Query(max_length=200)] = None,
    license: Annotated[str | None, Query(max_length=200)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    status: VersionStatus | None = None,
    kind: Annotated[
        Literal["model", "solution"] | None, Query(description="`solution`: solutions only")
    ] = None,
    sort: Annotated[
        SearchSort | None, Query(description="default: relevance with `q`, else recent")
    ] = None,
    facets: Annotated[bool, Query(description="also count the facets of all matches")] = False,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    criteria = search_criteria(q, category, library, license, owner, status, kind, sort)
    return await search_answer(session, caller, criteria, limit, cursor, facets)


@router.get("/internal/models/{owner}/{name}", response_model=ModelDetail)
async def get_model(session: ReadSessionDep, caller: CallerDep, owner: str, name: str) -> Response:
    return await model_page_answer(session, caller, owner, name)


# The use cases of the two hot reads, shared by their routes and by the lean path that answers
# the same requests without the framework (fast_reads.py): one place decides the answer.


def search_criteria(
    q: str | None,
    category: Category | None,
    library: str | None,
    license: str | None,
    owner: str | None,
    status: VersionStatus | None,
    kind: str | None,
    sort: SearchSort | None,
) -> SearchCriteria:
    """The search's criteria from its validated query parameters (blank ones mean absent)."""
    return SearchCriteria(
        # Not stripped: a trailing space says the last word is finished (no prefix match).
        q=q if q and q.strip() else None,
        category=category.value if category else None,
        library=library or None,
        license=license or None,
        owner=owner or None,
        status=status.value if status else None,
        kind=kind,
        sort=sort,
    )


async def search_answer(
    session: AsyncSession,
    caller: Caller,
    criteria: SearchCriteria,
    limit: int,
    cursor: str | None,
    facets: bool,
) -> Response:
    store = SearchStore(session)
    page = await search_models(store, caller, criteria, limit, cursor, with_facets=facets)
    answer = search_page(page.hits, page.next_cursor, criteria.effective_sort, page.facets)
    return serialised_once(answer)


async def model_page_answer(
    session: AsyncSession, caller: Caller, owner: str, name: str
) -> Response:
    found = await model_with_versions(ModelPageStore(session), caller, owner, name)
    detail = model_detail(found.model, found.versions)
    if found.mirrored:  # only a mirror's page shows its origin (federation tables)
        detail = await model_with_origin(session, found.model, detail)
    return serialised_once(detail)


def serialised_once(answer: SearchPage | ModelDetail) -> Response:
    """The contract built by `schemas.py`, serialised once by pydantic-core.

    Returned as the model, FastAPI would dump it to a dict, validate that against
    `response_model` and encode it again: ~1.2 ms of CPU more for a 20-hit search page
    (docs/benchmarks.md, "Catalog search"). `response_model` still documents the route, and
    the contract tests validate the answers.
    """
    return Response(content=answer.model_dump_json(), media_type="application/json")


@router.delete("/internal/models/{owner}/{name}", response_model=ModelDeletion)
async def delete(
    session: SessionDep,
    caller: CallerDep,
    owner: str,
    name: str,
    force: Annotated[
        bool, Query(description="delete even when a live solution uses one of its versions")
    ] = False,
) -> ModelDeletion:
    """Soft-delete a model (deletion.py): 404 from then on, `ModelDeleted` in the outbox."""
    store = CatalogStore(session)
    deleted = await delete_model(store, SolutionStore(session), caller, owner, name, force=force)
    return model_deletion(deleted)


@router.get("/internal/names/{owner}/{name}", status_code=204)
async def check_name(session: SessionDep, owner: str, name: str) -> None:
    """204 when a version may be pushed as `owner/name` (new or existing); 409
    `model-name-deleted` when that model was deleted, `model-is-mirrored` when it is a
    read-only mirror of a peer's model. The gateway asks before a push."""
    await ensure_writable(session, owner, name)
    found = await SolutionStore(session).find_model_even_deleted(owner, name)
    if found is not None and found.deleted_at is not None:
        raise ModelNameDeleted(owner, name)


@router.get("/internal/models/{owner}/{name}/versions/{version}", response_model=VersionDetail)
async def get_version(
    session: SessionDep, caller: CallerDep, owner: str, name: str, version: VersionNumber
) -> VersionDetail:
    model, stored = await visible_version(CatalogStore(session), caller, owner, name, version)
    return await version_with_origin(session, model, version_detail(model, stored))


@router.post(
    "/internal/models/{owner}/{name}/publish",
    response_model=VersionDetail,
    responses={202: {"model": PublishRequestContract, "description": "waits for approval"}},
)
async def publish(
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    owner: str,
    name: str,
    body: PublishBody,
) -> VersionDetail | JSONResponse:
    await ensure_writable(session, owner, name)  # a mirror is read-only here
    store = CatalogStore(session)
    request = PublishRequest(
        version=body.version,
        visibility=body.visibility,
        description=body.description,
        category=body.category.value,
        license=body.license,
        tags=None if body.tags is None else tuple(body.tags),
    )
    # PUBLISH_APPROVAL=required (or the owner in PUBLISH_APPROVAL_OWNERS) turns a publication
    # to `public` into a request (202).
    outcome = await publish_or_request(
        Stores(store, CurationStore(session)),
        caller,
        owner,
        name,
        request,
        approval_required=settings.publish_approval_required(owner),
    )
    if outcome.request is not None:
        body_out = request_out(outcome.request).model_dump(mode="json")
        return JSONResponse(body_out, status_code=202)
    assert outcome.published is not None
    number = outcome.published.state.version
    model, stored = await visible_version(store, caller, owner, name, number)
    return version_detail(model, stored)


@router.post(
    "/internal/models/{owner}/{name}/versions/{version}/downloads",
    response_model=VersionDetail,
)
async def record_download(
    session: SessionDep,
    caller: CallerDep,
    owner: str,
    name: str,
    version: VersionNumber,
    body: DownloadBody,
) -> VersionDetail:
    store = CatalogStore(session)
    model, stored = await count_download(store, caller, owner, name, version, body.kind)
    return version_detail(model, stored)


@router.get("/internal/visibility/{owner}/{name}", response_model=ModelVisibility)
async def visibility(session: SessionDep, owner: str, name: str) -> ModelVisibility:
    return model_visibility(await model_for_event_filter(CatalogStore(session), owner, name))
