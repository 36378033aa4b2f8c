"""What the routes need, built once by the composition root (main.py), kept on `app.state`.

Routes read it through the typed dependency `ContextDep`, so every router is a module-level
`APIRouter` (no route factories closing over clients).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request
from modelbay_common.blob import BlobStore
from modelbay_common.db import SessionFactory

from modelbay_gateway.events_hub import EventHub
from modelbay_gateway.settings import GatewaySettings
from modelbay_gateway.upstream import Upstreams


@dataclass(frozen=True)
class GatewayContext:
    settings: GatewaySettings
    sessions: SessionFactory
    upstreams: Upstreams
    blob_store: BlobStore
    hub: EventHub


def context_of(request: Request) -> GatewayContext:
    return cast(GatewayContext, request.app.state.context)


ContextDep = Annotated[GatewayContext, Depends(context_of)]
