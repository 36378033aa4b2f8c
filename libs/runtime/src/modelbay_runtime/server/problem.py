"""RFC 9457 problem details for every error the server answers.

The runtime cannot use `modelbay_common` (model images do not have it), so this is the runtime's
own small equivalent: one exception type carrying status, a stable `type` slug and a detail, and
one renderer. 5xx problems never carry internal details; those go to the log.
"""

from __future__ import annotations

import json
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://modelbay.dev/problems/"


class ProblemError(Exception):
    """An error answered to the client as application/problem+json.

    `kind` is the stable slug used as the problem `type` suffix and as the `kind` label of the
    errors metric; `field` names the offending input field (dotted path) when there is one.
    """

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.kind,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            document["detail"] = self.detail
        if instance:
            document["instance"] = instance
        if self.field is not None:
            document["field"] = self.field
        document.update(self.extra)
        return document

    def render(self, instance: str | None = None) -> bytes:
        return json.dumps(self.body(instance)).encode()


def invalid_input(field: str | None, message: str) -> ProblemError:
    """422: the body parsed but does not fit the method's input message."""
    where = f"field '{field}': " if field else ""
    return ProblemError(422, "invalid-input", "Invalid input", f"{where}{message}", field=field)


def malformed_body(message: str) -> ProblemError:
    """400: the body could not be decoded at all (broken JSON or protobuf)."""
    return ProblemError(400, "malformed-body", "Malformed request body", message)


def internal_error() -> ProblemError:
    """500 with a generic body: details of model failures stay in the log."""
    return ProblemError(
        500,
        "model-error",
        "Internal server error",
        "The model failed while handling the request; the server log has the details.",
    )
