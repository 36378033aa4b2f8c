"""Thin consumers of the pipeline's lifecycle events, made idempotent by the inbox.

The catalog consumes exactly the event classes of `lifecycle.TRANSITIONS` (their types are
`LIFECYCLE_EVENT_TYPES`, the keys `main.py` subscribes with). An event of any other type that
reaches the handler anyway (a broader binding, a replay from another queue) is acknowledged and
ignored before anything is written: it never creates a model or a version row.
"""

from __future__ import annotations

import logging

from modelbay_common.bus.port import Handler
from modelbay_common.db import SessionFactory
from modelbay_common.events import Envelope, Event
from modelbay_common.inbox import idempotent
from modelbay_common.tracing import trace_id_of
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.lifecycle import LIFECYCLE_EVENT_TYPES, is_lifecycle_event
from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.service import record_pipeline_event
from modelbay_catalog.store import CatalogStore

__all__ = ["LIFECYCLE_EVENT_TYPES", "lifecycle_handler", "record_lifecycle_event"]

log = logging.getLogger(__name__)


async def record_lifecycle_event(session: AsyncSession, event: Envelope) -> None:
    if not isinstance(event.data, Event) or not is_lifecycle_event(event.data):
        log.info(
            "event %s of type %s is not one the catalog consumes; ignored", event.id, event.type
        )
        return
    # The envelope's time is when the producer saw the change, which is what timings show.
    store = CatalogStore(session)
    await record_pipeline_event(store, event.data, event.time)
    # The push's trace (docs/operations.md, "Traces"): the first traced event names it.
    trace_id = trace_id_of(event.traceparent)
    if trace_id is not None:
        data = event.data
        await store.adopt_trace_id(data.owner, data.name, data.version, trace_id)


def lifecycle_handler(consumer: str, sessions: SessionFactory) -> Handler:
    """The bus handler: one transaction per event, skipped when the event id was seen."""
    return idempotent(consumer, record_lifecycle_event, sessions=sessions, schema=SCHEMA)
