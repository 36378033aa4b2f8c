"""Thin consumers of the pipeline's lifecycle events, made idempotent by the inbox."""

from __future__ import annotations

from modelbay_common.bus.port import Handler
from modelbay_common.db import SessionFactory
from modelbay_common.events import EVENT_CLASSES, Envelope, Published
from modelbay_common.inbox import idempotent
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.service import record_pipeline_event
from modelbay_catalog.store import CatalogStore

# Every event that moves a version; Published is the catalog's own and not consumed.
LIFECYCLE_EVENT_TYPES = tuple(
    event_type for event_type, event_class in EVENT_CLASSES.items() if event_class is not Published
)


async def record_lifecycle_event(session: AsyncSession, event: Envelope) -> None:
    # The envelope's time is when the producer saw the change, which is what timings show.
    await record_pipeline_event(CatalogStore(session), event.data, event.time)


def lifecycle_handler(consumer: str, sessions: SessionFactory) -> Handler:
    """The bus handler: one transaction per event, skipped when the event id was seen."""
    return idempotent(consumer, record_lifecycle_event, sessions=sessions, schema=SCHEMA)
