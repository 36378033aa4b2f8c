"""Inbox: makes an event handler idempotent under at-least-once delivery.

`idempotent(consumer, handler, sessions=..., schema=...)` turns a transactional handler
`async (session, envelope) -> None` into a bus handler. For each delivery it opens one
transaction, inserts `(consumer, event_id)` into `<schema>.inbox` with ON CONFLICT DO NOTHING,
runs the handler only if the row is new, and commits once; the bus acks after that. A
redelivered event (a crash between commit and ack, a duplicate from the outbox relay) finds its
row and is skipped. If the handler raises, the inbox row rolls back with its work, so the retry
runs the handler again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_common.bus.port import Handler
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.events import Envelope
from modelbay_common.metrics import platform_metrics

__all__ = ["TransactionalHandler", "idempotent", "inbox_table", "purge_inbox", "was_handled"]

log = logging.getLogger(__name__)

TransactionalHandler = Callable[[AsyncSession, Envelope], Awaitable[None]]
"""A handler that does its work in the session it is given; it flushes, never commits."""

_default_tables: dict[str, Table] = {}


def inbox_table(schema: str, metadata: MetaData | None = None) -> Table:
    """The `<schema>.inbox` table; pass a service's metadata to include it in autogenerate."""
    if metadata is None:
        if schema not in _default_tables:
            _default_tables[schema] = inbox_table(schema, MetaData())
        return _default_tables[schema]
    return Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Text, nullable=False),  # CloudEvents ids are strings, not always uuids
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id", name="inbox_pkey"),
        schema=schema,
    )


def idempotent(
    consumer: str, handler: TransactionalHandler, *, sessions: SessionFactory, schema: str
) -> Handler:
    """A bus handler that runs `handler` at most once per event id for `consumer`."""
    table = inbox_table(schema)

    async def handle_once(envelope: Envelope) -> None:
        async with transaction(sessions) as session:
            # A concurrent delivery of the same event waits here on the primary key until the
            # first one commits (then skips) or rolls back (then handles it).
            first_time = await session.scalar(
                insert(table)
                .values(consumer=consumer, event_id=envelope.id)
                .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
                .returning(table.c.event_id)
            )
            if first_time is None:
                log.info("consumer %s already handled event %s, skipping", consumer, envelope.id)
                platform_metrics().inbox_duplicates.labels(consumer).inc()
                return
            await handler(session, envelope)

    return handle_once


async def was_handled(session: AsyncSession, consumer: str, event_id: str, *, schema: str) -> bool:
    """Whether `consumer` already committed its handling of `event_id`.

    For a handler that must know, before doing slow work outside the transaction, that a
    redelivery would be skipped anyway (`idempotent` checks again when it commits).
    """
    table = inbox_table(schema)
    found = await session.scalar(
        select(table.c.event_id).where(table.c.consumer == consumer, table.c.event_id == event_id)
    )
    return found is not None


async def purge_inbox(session: AsyncSession, *, schema: str, received_before: datetime) -> int:
    """Delete inbox rows older than `received_before`; returns how many were removed.

    Keep rows for longer than any redelivery can take (retries, DLQ replay): days, not minutes.
    """
    table = inbox_table(schema)
    result = await session.execute(delete(table).where(table.c.received_at < received_before))
    return int(result.rowcount)  # type: ignore[attr-defined]
