"""The public app: `/v1` routes, OpenAPI at `/v1/openapi.json`, docs at `/v1/docs`, health."""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.

from fastapi import APIRouter, FastAPI, Request
from modelbay_common.errors import ProblemResponse, install_problem_handlers
from sqlalchemy import text

from modelbay_gateway import (
    api_accounts,
    api_admin,
    api_admin_gc,
    api_admin_status,
    api_audit,
    api_clients,
    api_community,
    api_curation,
    api_deploy,
    api_downloads,
    api_events,
    api_federation,
    api_keys,
    api_models,
    api_orgs,
    api_registry,
    api_solutions,
    api_try,
    api_webhooks,
)
from modelbay_gateway.context import ContextDep, GatewayContext
from modelbay_gateway.errors import UpstreamProblem
from modelbay_gateway.lean_reads import install_lean_reads
from modelbay_gateway.openapi_problems import document_problems
from modelbay_gateway.web import install_web_ui

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
    install_lean_reads(app, context)  # first: the innermost middleware (lean_reads.py)
    install_problem_handlers(app)
    app.add_exception_handler(UpstreamProblem, _relay_upstream_problem)
    # Module-level routers read what they need from app.state (typed dependencies).
    app.state.context = context
    app.state.registry_tokens = context.settings.registry_tokens()
    modules = (
        api_accounts,
        api_orgs,
        api_models,
        api_curation,
        api_community,
        api_solutions,
        api_downloads,
        api_clients,
        api_deploy,
        api_try,
        api_events,
        api_registry,
        api_keys,
        api_admin,
        api_admin_status,
        api_admin_gc,
        api_federation,
        api_audit,
        api_webhooks,
    )
    for module in modules:
        app.include_router(module.router)
    app.include_router(health)
    install_web_ui(app, context)  # pages at /, assets at /static (docs/web.md)
    document_problems(app)  # 401/404/409/422/502/503 as problem+json in the OpenAPI
    return app


health = APIRouter(tags=["health"])


@health.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@health.get("/readyz")
async def readyz(context: ContextDep) -> dict[str, str]:
    """The gateway can reach its database."""
    async with context.sessions() as session:
        await session.execute(text("SELECT 1"))
    return {"status": "ready"}
