"""Internal HTTP API of the builder (called by the gateway only; see docs/builder.md).

A module-level router; what the routes need (sessions, the image exporter, the worker's
liveness) is put on `app.state` by `create_app` and read by typed dependencies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from typing import Annotated, cast

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse
from modelbay_common.api_params import VersionNumber
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob.keys import IMAGE_TARBALL_ROUTE
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.errors import ModelbayError, ProblemResponse, install_problem_handlers
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_builder.errors import (
    DatabaseUnavailable,
    ImageNotAvailable,
    TryNotPossible,
    WorkerNotLive,
)
from modelbay_builder.gc import ImageCollector
from modelbay_builder.images import ImageExporter
from modelbay_builder.liveness import Liveness
from modelbay_builder.records import BuildStatus
from modelbay_builder.schemas import BuildOut
from modelbay_builder.service import build_status
from modelbay_builder.try_sandbox import MAX_TRY_BODY_BYTES, TrySandboxes

Owner = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Name = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Version = VersionNumber
READINESS_TIMEOUT_SECONDS = 3.0


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the route returns."""
    async with transaction(_sessions(request)) as session:
        yield session


# scope="function": committed before the answer is sent (FastAPI's default runs the exit of a
# yield dependency after the response), and no transaction stays open while a tarball streams.
DbSession = Annotated[AsyncSession, Depends(_session, scope="function")]


def _problem(error: ModelbayError, path: str) -> JSONResponse:
    return ProblemResponse(error.to_problem(path), status_code=error.status)


def create_app(
    sessions: SessionFactory,
    exporter: ImageExporter,
    liveness: Callable[[], Liveness],
    try_sandboxes: TrySandboxes | None = None,
    image_gc: ImageCollector | None = None,
) -> FastAPI:
    app = FastAPI(title="Modelbay builder (internal)", version="1", docs_url=None, redoc_url=None)
    app.state.sessions, app.state.exporter, app.state.liveness = sessions, exporter, liveness
    app.state.try_sandboxes, app.state.image_gc = try_sandboxes, image_gc
    install_problem_handlers(app)
    app.include_router(router)
    # Imported here: api_gc reads nothing of this module, but keeps the GC route in one file.
    from modelbay_builder.api_gc import router as gc_router

    app.include_router(gc_router)
    return app


def _sessions(request: Request) -> SessionFactory:
    return cast(SessionFactory, request.app.state.sessions)


def _exporter(request: Request) -> ImageExporter:
    return cast(ImageExporter, request.app.state.exporter)


def _liveness(request: Request) -> Liveness:
    return cast(Callable[[], Liveness], request.app.state.liveness)()


SessionsDep = Annotated[SessionFactory, Depends(_sessions)]
ExporterDep = Annotated[ImageExporter, Depends(_exporter)]
LivenessDep = Annotated[Liveness, Depends(_liveness)]

router = APIRouter()


# Probes answer 503 problem+json themselves rather than raising: a probe every few seconds
# during an outage must not log a traceback each time (the worker logs the outage once).
@router.get("/healthz", responses={503: {"description": "The build worker is not live"}})
async def healthz(verdict: LivenessDep) -> JSONResponse:
    """Liveness of the build worker (the rules are in liveness.py and docs/builder.md)."""
    if not verdict.live:
        return _problem(WorkerNotLive(verdict.reason, asdict(verdict)), "/healthz")
    return JSONResponse({"status": "ok", **asdict(verdict)})


@router.get("/readyz", responses={503: {"description": "The database does not answer"}})
async def readyz(sessions: SessionsDep) -> JSONResponse:
    """Readiness: the database answers a query now (the builder can queue and claim)."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
    except Exception as exc:
        return _problem(DatabaseUnavailable(f"{type(exc).__name__}: {exc}"), "/readyz")
    return JSONResponse({"status": "ready"})


@router.get("/internal/builds/{owner}/{name}/{version}", response_model=BuildOut)
async def get_build(owner: Owner, name: Name, version: Version, db: DbSession) -> BuildOut:
    return BuildOut.of(await build_status(db, owner, name, version))


@router.get(
    IMAGE_TARBALL_ROUTE,
    response_class=StreamingResponse,
    responses={200: {"content": {ArtifactKind.IMAGE.media_type: {}}}},
)
async def get_tarball(
    owner: Owner, name: Name, version: Version, db: DbSession, exporter: ExporterDep
) -> StreamingResponse:
    view = await build_status(db, owner, name, version)
    if view.status is not BuildStatus.SUCCEEDED or not view.image_ref:
        raise ImageNotAvailable(owner, name, version, view.status.value)
    await asyncio.to_thread(exporter.prepare, view.image_ref)
    filename = f"{owner}-{name}-{version}.tar"
    return StreamingResponse(
        exporter.export(view.image_ref),  # sync iterator: Starlette reads it in a thread
        media_type=ArtifactKind.IMAGE.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/internal/try/{owner}/{name}/{version}/{method}")
async def try_method(
    owner: Owner, name: Name, version: Version, method: str, request: Request, sessions: SessionsDep
) -> JSONResponse:
    """One call of the version's model in a sandbox ("Try it", try_sandbox.py): the model
    server's status and body, whatever they are (a 4xx of the model is an answer, not an error
    of this route)."""
    sandboxes = request.app.state.try_sandboxes
    if not isinstance(sandboxes, TrySandboxes):
        raise TryNotPossible("this builder does not run models on request")
    # A short transaction of its own: none stays open while a sandbox starts (seconds).
    async with transaction(sessions) as session:
        view = await build_status(session, owner, name, version)
    if view.status is not BuildStatus.SUCCEEDED or not view.image_ref:
        raise ImageNotAvailable(owner, name, version, view.status.value)
    payload = await request.body()
    if len(payload) > MAX_TRY_BODY_BYTES:
        raise TryNotPossible(f"the request body is over {MAX_TRY_BODY_BYTES} bytes")
    answer = await sandboxes.call(view.image_ref, method, payload)
    return JSONResponse({"status": answer.status, "body": answer.body})
