"""Who may open a page, as dependencies: a page states it in its signature, and a visitor who
must sign in first is redirected to the sign-in form by `HtmlErrorRoute` (`SignInRequired`).

Forms (POST) do not use these: they check their CSRF token before anything else, so a forged
form learns nothing, not even that it would have been redirected.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from modelbay_gateway.web.errors import SignInRequired
from modelbay_gateway.web.session import CurrentVisitor, Visitor
from modelbay_gateway.web.state import State


def must_sign_in(state: State, visitor: Visitor) -> bool:
    """The UI follows the API: without a session only `anonymous_read` lets a visitor browse."""
    return visitor.principal is None and not state.context.settings.anonymous_read


async def browsing_visitor(state: State, visitor: CurrentVisitor) -> Visitor:
    """A visitor who may browse: signed in, or anyone when `anonymous_read` is on."""
    if must_sign_in(state, visitor):
        raise SignInRequired()
    return visitor


async def signed_in_visitor(visitor: CurrentVisitor) -> Visitor:
    if visitor.principal is None:
        raise SignInRequired()
    return visitor


Browsing = Annotated[Visitor, Depends(browsing_visitor)]
SignedInVisitor = Annotated[Visitor, Depends(signed_in_visitor)]
