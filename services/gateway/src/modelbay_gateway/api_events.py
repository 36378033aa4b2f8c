"""`GET /v1/events`: lifecycle events the caller may see, as Server-Sent Events."""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from modelbay_common.api_params import OptionalVersionQuery

from modelbay_gateway.auth import Reader
from modelbay_gateway.context import ContextDep
from modelbay_gateway.events_hub import EventFilter, Subscription, format_sse
from modelbay_gateway.service_models import caller_of

RECONNECT_MILLISECONDS = 3000

router = APIRouter(prefix="/v1", tags=["events"])


async def _sse_stream(subscription: Subscription, keepalive: float) -> AsyncIterator[str]:
    yield f"retry: {RECONNECT_MILLISECONDS}\n: connected\n\n"
    if not subscription.resumed:
        yield ": Last-Event-ID is older than the replay buffer; some events were missed\n\n"
    while True:
        try:
            event = await asyncio.wait_for(subscription.queue.get(), keepalive)
        except TimeoutError:
            yield ": keepalive\n\n"
            continue
        if event is None:
            return  # the gateway is shutting down or this subscriber fell behind
        yield format_sse(event)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def events(
    principal: Reader,
    context: ContextDep,
    owner: Annotated[str | None, Query(description="only this owner's models")] = None,
    name: Annotated[str | None, Query(description="only models of this name")] = None,
    version: OptionalVersionQuery = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Pipeline events (CloudEvents JSON in `data:`), only for models the caller may see.

    Resumes after `Last-Event-ID` while that event is among the most recent ones. Comment
    lines keep idle connections open.
    """
    caller = caller_of(principal)
    event_filter = EventFilter(owner=owner, name=name, version=version)

    async def stream() -> AsyncIterator[str]:
        with context.hub.subscribe(caller, event_filter, last_event_id) as subscription:
            async for message in _sse_stream(subscription, context.settings.sse_keepalive_seconds):
                yield message

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
