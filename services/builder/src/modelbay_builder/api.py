"""Internal HTTP API of the builder (called by the gateway only; see docs/builder.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import StreamingResponse
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.errors import install_problem_handlers
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_builder.errors import ImageNotAvailable
from modelbay_builder.images import ImageExporter
from modelbay_builder.records import BuildStatus
from modelbay_builder.schemas import BuildOut
from modelbay_builder.service import build_status

Owner = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Name = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Version = Annotated[int, Path(ge=1)]


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the route returns."""
    sessions: SessionFactory = request.app.state.sessions
    async with transaction(sessions) as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(_session)]


def create_app(sessions: SessionFactory, exporter: ImageExporter) -> FastAPI:
    app = FastAPI(title="Modelbay builder (internal)", version="1", docs_url=None, redoc_url=None)
    app.state.sessions = sessions
    install_problem_handlers(app)
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/internal/builds/{owner}/{name}/{version}", response_model=BuildOut)
    async def get_build(owner: Owner, name: Name, version: Version, db: DbSession) -> BuildOut:
        return BuildOut.of(await build_status(db, owner, name, version))

    @router.get(
        "/internal/images/{owner}/{name}/{version}/tarball",
        response_class=StreamingResponse,
        responses={200: {"content": {"application/x-tar": {}}}},
    )
    async def get_tarball(
        owner: Owner, name: Name, version: Version, db: DbSession
    ) -> StreamingResponse:
        view = await build_status(db, owner, name, version)
        if view.status is not BuildStatus.SUCCEEDED or not view.image_ref:
            raise ImageNotAvailable(owner, name, version, view.status.value)
        await asyncio.to_thread(exporter.prepare, view.image_ref)
        filename = f"{owner}-{name}-{version}.tar"
        return StreamingResponse(
            exporter.export(view.image_ref),  # sync iterator: Starlette reads it in a thread
            media_type="application/x-tar",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    app.include_router(router)
    return app
