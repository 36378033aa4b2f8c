"""Federation peers for administrators: `/admin/peers` lists each peer with its sync status
(docs/federation.md), read from the same catalog answer as `GET /v1/admin/peers`.

A signed-in visitor who is not an administrator gets the 403 page (the catalog would refuse the
read anyway); changing peers stays with the API and `modelbay admin peers`.
"""

# No `from __future__ import annotations`: FastAPI must see the Annotated aliases.
from fastapi import APIRouter, Request, Response
from modelbay_common.contracts.federation import PeerList

from modelbay_gateway.errors import AdminRequired
from modelbay_gateway.service_federation import PEERS, relay
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.web.errors import HtmlErrorRoute
from modelbay_gateway.web.state import State
from modelbay_gateway.web.visitors import SignedInVisitor

router = APIRouter(route_class=HtmlErrorRoute, include_in_schema=False)


@router.get("/admin/peers")
async def peers_page(request: Request, state: State, visitor: SignedInVisitor) -> Response:
    principal = visitor.principal
    assert principal is not None  # SignedInVisitor saw to it
    if not principal.user.is_admin:
        raise AdminRequired("see the federation peers")
    answer = await relay(state.context.upstreams, caller_of(principal), "GET", PEERS)
    peers = PeerList.model_validate(answer).items
    values = {"visitor": visitor, "peers": peers}
    return state.templates.TemplateResponse(request, "peers.html", values)
