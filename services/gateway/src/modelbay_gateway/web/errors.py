"""Errors on pages are pages: the same errors the API renders as problem+json, shown as HTML.

Web routes use `HtmlErrorRoute`, which turns what a route raises (our errors, an internal
service's 4xx problem, an invalid path parameter) into `error.html` with the same status. A 404
for a model says only that there is no such model here, whether it does not exist or the
visitor may not see it: the page is identical in both cases.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from modelbay_common.errors import ModelbayError

from modelbay_gateway.errors import UpstreamProblem

log = logging.getLogger(__name__)

NOT_FOUND_TITLE = "Not found"
NOT_FOUND_DETAIL = (
    "There is nothing at this address that you can open. Check the owner and model name, or "
    "search the catalog."
)


class SignInRequired(Exception):
    """Raised by a page's visitor dependency (`visitors.py`): the page answers the sign-in
    redirect, back to this address afterwards."""


def signin_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/signin?" + urlencode({"next": target}), status_code=303)


async def error_page(request: Request, status: int, title: str, detail: str | None) -> Response:
    # Imported here: state and session import nothing of the routes, the routes import this.
    from modelbay_gateway.web.session import current_visitor
    from modelbay_gateway.web.state import web_state

    if status == 404:
        # One wording for every 404: "missing" and "not yours to see" must look the same.
        title, detail = NOT_FOUND_TITLE, NOT_FOUND_DETAIL
    state = await web_state(request)
    try:
        visitor = await current_visitor(request, state)  # the header still says who is in
    except Exception:
        visitor = None  # the error page must render even when the database does not answer
    return state.templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail, "visitor": visitor},
        status_code=status,
    )


def _problem_text(problem: dict[str, Any]) -> tuple[str, str | None]:
    title = str(problem.get("title") or "Request refused")
    detail = problem.get("detail")
    return title, None if detail is None else str(detail)


class HtmlErrorRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_page(request: Request) -> Response:
            try:
                return await handle(request)
            except SignInRequired:
                return signin_redirect(request)
            except UpstreamProblem as exc:
                title, detail = _problem_text(exc.problem)
                return await error_page(request, exc.status, title, detail)
            except ModelbayError as exc:
                if exc.status >= 500:
                    log.error("page %s failed: %s", request.url.path, exc, exc_info=exc)
                return await error_page(request, exc.status, exc.title, exc.detail)
            except RequestValidationError:
                if request.method == "POST":
                    detail = "A field of the form is too long or malformed; go back and check it."
                    return await error_page(request, 422, "Form not readable", detail)
                # A malformed path or query (a version that is not a number): nothing is there.
                return await error_page(request, 404, NOT_FOUND_TITLE, None)

        return handle_as_page
