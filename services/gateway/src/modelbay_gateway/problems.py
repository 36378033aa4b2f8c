"""The problem+json error answers of a route, for the public OpenAPI document.

Every error of the API is an RFC 9457 document (modelbay_common.errors); routes list the
statuses they can answer with `responses=problem_responses(401, 404, ...)` so that clients
generated from the OpenAPI know the shape. The schema is inline: FastAPI would otherwise also
advertise the body as `application/json`.
"""

from __future__ import annotations

from typing import Any

from modelbay_common.errors import PROBLEM_MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; extension members name what the problem is about.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri",
            "description": "identifies the kind of problem, e.g. .../problems/model-not-found",
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what happened and what to do about it"},
        "instance": {"type": "string", "description": "the request path"},
        "errors": {
            "type": "array",
            "description": "validation errors only (422): one entry per invalid field",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "examples": ["body.stars"]},
                    "location": {"type": "array", "items": {}},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

_MEANING = {
    400: "Bad request (e.g. a malformed cursor)",
    401: "No token, or an invalid one",
    403: "The model is visible, but this is not yours to change",
    404: "No such model, version or item, or one you may not see (they look the same)",
    409: "The item is in a state that does not allow this (e.g. a deleted comment)",
    422: "Invalid input; `errors` names each field",
    502: "An internal service failed",
    503: "An internal service is unavailable",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for `statuses`, each a problem+json body."""
    return {
        status: {
            "description": _MEANING.get(status, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }
