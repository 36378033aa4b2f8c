"""Who may open a page, as dependencies: a page states it in its signature, and a visitor who
must sign in first is redirected to the sign-in form by `HtmlErrorRoute` (`SignInRequired`).

Forms (POST) take `FormSender`: it checks the form's CSRF token before anything else, so a
forged form learns nothing, not even that it would have been redirected, then asks for a session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form

from modelbay_gateway.web.errors import SignInRequired
from modelbay_gateway.web.session import CSRF_FIELD, CurrentVisitor, Visitor, check_csrf
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


CsrfField = Annotated[str | None, Form(alias=CSRF_FIELD, max_length=200)]


async def form_sender(visitor: CurrentVisitor, csrf_token: CsrfField = None) -> Visitor:
    """The signed-in visitor who sent a form with its CSRF token (403 page, else sign in)."""
    check_csrf(visitor, csrf_token)
    if visitor.principal is None:
        raise SignInRequired()
    return visitor


FormSender = Annotated[Visitor, Depends(form_sender)]
