"""Errors the SDK raises when talking to a Modelbay platform."""

from __future__ import annotations


class ApiError(RuntimeError):
    """The platform refused a request (its problem title and detail) or could not be reached."""

    def __init__(self, title: str, detail: str = "", status: int | None = None) -> None:
        self.title = title
        self.detail = detail
        self.status = status
        super().__init__(f"{title}: {detail}" if detail else title)
