"""Errors the SDK raises when talking to a Modelbay platform."""

from __future__ import annotations

import httpx


class ApiError(RuntimeError):
    """The platform refused a request (its problem title and detail) or could not be reached."""

    def __init__(self, title: str, detail: str = "", status: int | None = None) -> None:
        self.title = title
        self.detail = detail
        self.status = status
        super().__init__(f"{title}: {detail}" if detail else title)


def raise_for_problem(response: httpx.Response, error: type[ApiError] = ApiError) -> None:
    """Raise `error` with the RFC 9457 problem's title and detail unless the response succeeded."""
    if response.is_success:
        return
    title, detail = f"HTTP {response.status_code}", ""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if isinstance(problem, dict):
        title = str(problem.get("title") or title)
        detail = str(problem.get("detail") or "")
    else:
        detail = response.text[:500]
    raise error(title, detail, response.status_code)
