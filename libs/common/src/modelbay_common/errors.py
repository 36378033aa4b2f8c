"""One error base for every service, rendered as RFC 9457 ``application/problem+json``.

Services raise a :class:`ModelbayError` subclass (or their own subclass of one of these) from any
layer; :func:`install_problem_handlers` turns it into a problem document. Request validation
errors, Starlette's HTTP exceptions (unknown route, wrong method) and unexpected exceptions are
rendered the same way, so a client only ever has to parse one error shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_TYPE_BASE = "https://modelbay.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
# RFC 9457 §4.2.1: "about:blank" means the problem has no semantics beyond the HTTP status.
ABOUT_BLANK = "about:blank"
_RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})

_logger = logging.getLogger("modelbay.errors")


def problem_type_uri(slug: str) -> str:
    """The documentation URI that identifies a problem type, e.g. ``.../problems/not-found``."""
    return PROBLEM_TYPE_BASE + slug


class ModelbayError(Exception):
    """Base of every error a Modelbay service raises on purpose.

    Subclasses set ``status``, ``title`` and ``type_slug`` as class attributes; a specific
    occurrence adds a human ``detail`` and optional extension members (machine-readable context
    such as ``{"model": "iris"}``) that are rendered next to the standard members.
    """

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"
    type_slug: ClassVar[str] = "internal-error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        extensions: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail
        self.extensions = dict(extensions or {})
        self.headers = dict(headers or {})
        clashing = _RESERVED_MEMBERS.intersection(self.extensions)
        if clashing:
            raise ValueError(f"extension members clash with RFC 9457 members: {sorted(clashing)}")
        super().__init__(detail or self.title)

    @property
    def type(self) -> str:
        return problem_type_uri(self.type_slug)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document for this error (without HTTP framing)."""
        return build_problem(
            type_uri=self.type,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            extensions=self.extensions,
        )


class BadRequest(ModelbayError):
    status = 400
    title = "Bad Request"
    type_slug = "bad-request"


class Unauthorized(ModelbayError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Forbidden(ModelbayError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class NotFound(ModelbayError):
    status = 404
    title = "Not Found"
    type_slug = "not-found"


class Conflict(ModelbayError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class PayloadTooLarge(ModelbayError):
    status = 413
    title = "Payload Too Large"
    type_slug = "payload-too-large"


class UnsupportedMediaType(ModelbayError):
    status = 415
    title = "Unsupported Media Type"
    type_slug = "unsupported-media-type"


class UnprocessableContent(ModelbayError):
    status = 422
    title = "Unprocessable Content"
    type_slug = "unprocessable-content"


class ServiceUnavailable(ModelbayError):
    status = 503
    title = "Service Unavailable"
    type_slug = "service-unavailable"


def build_problem(
    *,
    type_uri: str,
    title: str,
    status: int,
    detail: str | None = None,
    instance: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble an RFC 9457 document; absent optional members are left out, not null."""
    problem: dict[str, Any] = {**(extensions or {}), "type": type_uri, "title": title}
    problem["status"] = status
    if detail:
        problem["detail"] = detail
    if instance:
        problem["instance"] = instance
    return problem


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def _instance_of(request: Request) -> str:
    # The request path identifies the occurrence well enough for support tickets and logs.
    return request.url.path


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _handle_modelbay_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, ModelbayError)
    return modelbay_error_response(exc, _instance_of(request))


def modelbay_error_response(exc: ModelbayError, path: str) -> ProblemResponse:
    """The problem+json answer to `exc` raised while serving `path`: what the handler
    `install_problem_handlers` installs answers, for code that answers without the framework
    (the catalog's lean reads)."""
    if exc.status >= 500:
        _logger.error("request failed: %s", exc, exc_info=exc, extra={"path": path})
    return ProblemResponse(
        exc.to_problem(path), status_code=exc.status, headers=exc.headers or None
    )


def validation_error_entries(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Name each failing field: its location path, a dotted form, the message and error type.

    The offending input value is left out on purpose: it may be large or hold secrets.
    """
    entries: list[dict[str, Any]] = []
    for error in errors:
        location = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        entries.append(
            {
                "field": ".".join(str(part) for part in location),
                "location": location,
                "message": str(error.get("msg", "invalid value")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return entries


async def _handle_validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    entries = validation_error_entries(exc.errors())
    summary = "; ".join(f"{entry['field']}: {entry['message']}" for entry in entries)
    problem = build_problem(
        type_uri=problem_type_uri("validation-error"),
        title="Request validation failed",
        status=422,
        detail=f"{len(entries)} invalid field(s): {summary}",
        instance=_instance_of(request),
        extensions={"errors": entries},
    )
    return ProblemResponse(problem, status_code=422)


def _http_exception_detail(request: Request, exc: StarletteHTTPException) -> str | None:
    phrase = _status_phrase(exc.status_code)
    if isinstance(exc.detail, str) and exc.detail and exc.detail != phrase:
        return exc.detail
    # Starlette's own 404/405 only say the phrase; name what was asked for instead.
    if exc.status_code == 404:
        return f"No resource at {request.url.path}"
    if exc.status_code == 405:
        return f"Method {request.method} is not allowed for {request.url.path}"
    return None


async def _handle_http_exception(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    extensions: dict[str, Any] = {}
    if not isinstance(exc.detail, str | None):
        extensions["context"] = exc.detail
    problem = build_problem(
        type_uri=ABOUT_BLANK,
        title=_status_phrase(exc.status_code),
        status=exc.status_code,
        detail=_http_exception_detail(request, exc),
        instance=_instance_of(request),
        extensions=extensions,
    )
    return ProblemResponse(problem, status_code=exc.status_code, headers=exc.headers)


def _internal_error_problem(instance: str | None) -> dict[str, Any]:
    # Deliberately generic: internals (messages, stack traces) go to the log, never the client.
    return build_problem(
        type_uri=problem_type_uri("internal-error"),
        title="Internal Server Error",
        status=500,
        detail="The server failed to handle the request; the error has been logged.",
        instance=instance,
    )


def client_went_away(exc: BaseException) -> bool:
    """The request failed because the client disconnected (mid-body, or before the answer).

    Not a server fault: it is logged at INFO, never as `ERROR unhandled error` (issue 11,
    defect 9). The disconnect may arrive wrapped (an upstream relay fails because the body it
    was streaming ended), so the cause chain is searched too.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ClientDisconnect):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _client_disconnected_problem(instance: str | None) -> dict[str, Any]:
    # Nobody reads it (the client is gone); it only completes the ASGI exchange.
    return build_problem(
        type_uri=problem_type_uri("client-disconnected"),
        title="Client disconnected",
        status=400,
        detail="The client closed the connection before the request was complete.",
        instance=instance,
    )


def _unexpected_error_response(exc: Exception, path: str) -> ProblemResponse:
    if client_went_away(exc):
        _logger.info("client disconnected", extra={"path": path})
        return ProblemResponse(_client_disconnected_problem(path or None), status_code=400)
    _logger.error("unhandled error", exc_info=exc, extra={"path": path})
    return ProblemResponse(_internal_error_problem(path or None), status_code=500)


async def _handle_unexpected_error(request: Request, exc: Exception) -> ProblemResponse:
    # Reached only for errors raised outside UnhandledErrorMiddleware (outer middlewares).
    return _unexpected_error_response(exc, request.url.path)


class UnhandledErrorMiddleware:
    """Turn any exception that escapes the routes into a generic 500 problem and log it.

    Starlette's catch-all handler re-raises after responding (so servers log twice); this
    middleware answers and logs once. If the response has already started (a failing stream)
    nothing can be sent any more, so the error propagates and the connection is cut.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if response_started:
                raise
            response = _unexpected_error_response(exc, str(scope.get("path", "")))
            await response(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error of ``app`` as ``application/problem+json``. Call in the app factory."""
    app.add_exception_handler(ModelbayError, _handle_modelbay_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(Exception, _handle_unexpected_error)
    app.add_middleware(UnhandledErrorMiddleware)
