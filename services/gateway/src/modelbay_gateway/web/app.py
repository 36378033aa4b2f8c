"""Mounts the web UI on the gateway's app: pages, static files, templates, security headers."""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi import FastAPI, Request, Response
from modelbay_common.events import EVENT_CLASSES
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelbay_gateway.context import GatewayContext
from modelbay_gateway.web import (
    pages_account,
    pages_catalog,
    pages_community,
    pages_curation,
    pages_federation,
    pages_model,
    pages_orgs,
    pages_solutions,
    pages_try,
)
from modelbay_gateway.web.errors import error_page
from modelbay_gateway.web.markdown import markdown_filters
from modelbay_gateway.web.state import WebState
from modelbay_gateway.web.views import format_bytes, format_seconds, format_time

HERE = Path(__file__).resolve().parent
STATIC_PREFIX = "/static"
API_DOCS_PATH = "/v1/docs"  # FastAPI's Swagger UI page (api.py `docs_url`), HTML under /v1
# Defence in depth behind the Markdown sanitizer: no inline script or style can run, and forms
# only post to us. Model cards may show images from https sites.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_PAGE_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class PageSecurityHeaders:
    """Adds the headers above to every HTML answer (the JSON API is left as it is)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The JSON API (`/v1`, but for its HTML docs page) answers no HTML: its requests skip
        # the wrapper altogether.
        path = scope.get("path", "")
        if scope["type"] != "http" or (path.startswith("/v1/") and path != API_DOCS_PATH):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(b"text/html"):
                    message["headers"] = [*message.get("headers", []), *_PAGE_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    environment = templates.env
    environment.filters.update(markdown_filters())
    environment.filters.update(
        {"seconds": format_seconds, "when": format_time, "size": format_bytes}
    )
    environment.globals["event_types"] = sorted(EVENT_CLASSES)
    environment.globals["static"] = lambda path: f"{STATIC_PREFIX}/{path}"
    environment.trim_blocks = True
    environment.lstrip_blocks = True
    return templates


def _html_for_browsers(app: FastAPI) -> None:
    """An unknown address asked for by a browser gets the UI's 404 page; the API and programs
    keep their problem+json (the handler installed before stays in charge of them)."""
    previous = app.exception_handlers.get(StarletteHTTPException)
    assert previous is not None, "install_problem_handlers must run first"

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        wants_html = "text/html" in request.headers.get("accept", "")
        if wants_html and exc.status_code == 404 and not request.url.path.startswith("/v1"):
            return await error_page(request, 404, "Not found", None)
        answer = previous(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, handle)


def install_web_ui(app: FastAPI, context: GatewayContext) -> None:
    """Pages at `/`, `/models/...`, `/my`, `/signin`; assets at `/static`. See docs/web.md."""
    app.state.web = WebState(context=context, templates=build_templates())
    app.include_router(pages_catalog.router)
    app.include_router(pages_model.router)
    app.include_router(pages_account.router)
    app.include_router(pages_community.router)
    app.include_router(pages_try.router)
    app.include_router(pages_orgs.router)
    app.include_router(pages_curation.router)
    app.include_router(pages_solutions.router)
    app.include_router(pages_federation.router)  # /admin/peers (docs/federation.md)
    app.mount(STATIC_PREFIX, StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(PageSecurityHeaders)
    _html_for_browsers(app)
