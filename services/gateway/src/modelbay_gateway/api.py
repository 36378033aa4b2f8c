"""The public app: `/v1` routes, OpenAPI at `/v1/openapi.json`, docs at `/v1/docs`, health."""

from __future__ import annotations

from fastapi import FastAPI, Request
from modelbay_common.errors import ProblemResponse, install_problem_handlers
from sqlalchemy import text

from modelbay_gateway.api_accounts import account_routes
from modelbay_gateway.api_downloads import download_routes
from modelbay_gateway.api_events import event_routes
from modelbay_gateway.api_models import model_routes
from modelbay_gateway.api_registry import router as registry_router
from modelbay_gateway.auth import principal_dependencies
from modelbay_gateway.context import GatewayContext
from modelbay_gateway.errors import UpstreamProblem

DESCRIPTION = """\
The public API of Modelbay: push trained models, follow them through the pipeline
(upload → resolve → build → validate → ready), search the catalog, publish, and download
bundles, interfaces, SBOMs and images.

Authenticate with `Authorization: Bearer <token>`. Every error is RFC 9457 problem+json. A model
you may not see answers 404, exactly like one that does not exist.
"""


async def _relay_upstream_problem(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, UpstreamProblem)
    # The internal service's instance is its own path; the caller asked for ours.
    problem = {**exc.problem, "instance": request.url.path}
    return ProblemResponse(problem, status_code=exc.status)


def create_app(context: GatewayContext) -> FastAPI:
    app = FastAPI(
        title="Modelbay",
        description=DESCRIPTION,
        version="1",
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.add_exception_handler(UpstreamProblem, _relay_upstream_problem)
    required, optional = principal_dependencies(context)
    app.include_router(account_routes(context, required))
    app.include_router(model_routes(context, required, optional))
    app.include_router(download_routes(context, optional))
    app.include_router(event_routes(context, optional))
    # Module-level routers read what they need from app.state.
    app.state.context = context
    app.state.registry_tokens = context.settings.registry_tokens()
    app.include_router(registry_router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> dict[str, str]:
        """The gateway can reach its database."""
        async with context.sessions() as session:
            await session.execute(text("SELECT 1"))
        return {"status": "ready"}

    return app
