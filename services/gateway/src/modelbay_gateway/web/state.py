"""What every page needs, read from `app.state.web` (set once by `install_web_ui`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.templating import Jinja2Templates

from modelbay_gateway.context import GatewayContext


@dataclass(frozen=True)
class WebState:
    context: GatewayContext
    templates: Jinja2Templates


async def web_state(request: Request) -> WebState:
    # async: a plain `def` dependency would run in FastAPI's thread pool on every page.
    state = request.app.state.web
    assert isinstance(state, WebState)
    return state


State = Annotated[WebState, Depends(web_state)]


def is_htmx(request: Request) -> bool:
    """htmx sends `HX-Request: true`; such a request wants a fragment, not a whole page. Except
    when it restores a page from history (back button): then it wants the whole page."""
    headers = request.headers
    return headers.get("hx-request") == "true" and not headers.get("hx-history-restore-request")
