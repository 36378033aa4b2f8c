"""What the routes need, built once by the composition root (main.py), kept on `app.state`.

Routes read it through the typed dependency `ContextDep`, so every router is a module-level
`APIRouter` (no route factories closing over clients).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, cast

import httpx
from fastapi import Depends, Request
from modelbay_common.blob import BlobStore
from modelbay_common.bus import DeadLetterAdmin
from modelbay_common.db import SessionFactory

from modelbay_gateway.auth_cache import PrincipalCache, attach
from modelbay_gateway.events_hub import EventHub
from modelbay_gateway.service_models import catalog_access_lookup
from modelbay_gateway.settings import GatewaySettings
from modelbay_gateway.upstream import Upstreams
from modelbay_gateway.visibility import VisibilityCache


@dataclass(frozen=True)
class GatewayContext:
    settings: GatewaySettings
    sessions: SessionFactory
    upstreams: Upstreams
    blob_store: BlobStore
    hub: EventHub
    # The bus's operator view (`/v1/admin/dead-letters`); None when the bus has none.
    dead_letters: DeadLetterAdmin | None = None
    # Who may see which model, shared by the SSE hub and the webhook fan-out.
    visibility: VisibilityCache | None = None
    # Bearer tokens resolved in the last AUTH_CACHE_SECONDS (auth_cache.py); none kept by default.
    principals: PrincipalCache = field(default_factory=lambda: PrincipalCache(0, 1))

    @classmethod
    def build(
        cls,
        settings: GatewaySettings,
        sessions: SessionFactory,
        blob_store: BlobStore,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        dead_letters: DeadLetterAdmin | None = None,
    ) -> GatewayContext:
        """The internal clients and the SSE hub, whose filter asks the catalog who may see what.

        `transports` maps "onboarding", "catalog", "builder" to in-process transports (the
        embedded mode); otherwise the clients call the configured URLs.
        """
        upstreams = Upstreams(settings, transports)
        lookup = catalog_access_lookup(upstreams)
        visibility = VisibilityCache(lookup, settings.visibility_cache_seconds)
        hub = EventHub(visibility, settings.sse_replay_events)
        principals = PrincipalCache(settings.auth_cache_seconds, settings.auth_cache_entries)
        attach(sessions, principals)  # the stores' writes invalidate it
        return cls(
            settings, sessions, upstreams, blob_store, hub, dead_letters, visibility, principals
        )

    async def close(self) -> None:
        """End the SSE streams, then close the internal HTTP clients."""
        self.hub.close()
        await self.upstreams.aclose()


def gateway_context(request: Request) -> GatewayContext:
    return cast(GatewayContext, request.app.state.context)


async def context_of(request: Request) -> GatewayContext:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hand-off that
    # cost about 0.3 ms of CPU per use on every request (docs/benchmarks.md).
    return gateway_context(request)


ContextDep = Annotated[GatewayContext, Depends(context_of)]
