"""The error answers every `/v1` operation can give, added to the public OpenAPI document.

Routes may list their own (`responses=problem_responses(...)`, modelbay_gateway.problems); this
fills in what every operation shares, so clients generated from the document know the
problem+json shape of each (issue 11, defect 9: the document showed no 401, 404, 409 or 502, and
FastAPI's 422 as `application/json` with its own schema):

- 401 on every operation (no token, an invalid one; anonymous reads may be off);
- 404 on operations with path parameters (missing and invisible look the same);
- 409 on operations that change something (a state that does not allow it);
- 422 with the problem+json schema instead of FastAPI's `HTTPValidationError`;
- 502 and 503 on every operation (an internal service failed or is unavailable).

Entries a route declared itself are kept as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from modelbay_gateway.problems import problem_responses

_CHANGING_METHODS = frozenset({"post", "put", "patch", "delete"})
_PUBLIC_PREFIX = "/v1/"


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [401, 502, 503]
    if "{" in path:
        statuses.append(404)
    if method in _CHANGING_METHODS:
        statuses.append(409)
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.append(422)
    return sorted(statuses)


def add_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the shared problem answers added to each `/v1` operation (in place)."""
    for path, operations in document.get("paths", {}).items():
        if not path.startswith(_PUBLIC_PREFIX):
            continue
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            shared = problem_responses(*_statuses(path, method, operation))
            for status, answer in shared.items():
                existing = responses.get(str(status))
                generated_422 = (
                    status == 422
                    and existing is not None
                    and "application/json" in existing.get("content", {})
                )
                if existing is None or generated_422:
                    responses[str(status)] = answer
    return document


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` return the document with the shared problem answers."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_problem_responses(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
