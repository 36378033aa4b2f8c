"""Thin consumer of MirrorRequested: copy outside any transaction, answer once through the inbox.

A mirror downloads and uploads for seconds to minutes, so it does not run inside a database
transaction: a delivery first asks the inbox whether the event was already answered (a
redelivery after commit is skipped), then copies, then records the inbox row and emits the
answer in one transaction (the entrypoint owns it). Two deliveries racing both copy (the copy is
idempotent: same digest, same keys) and only the first answer is emitted.
"""

from __future__ import annotations

from modelbay_common.bus.port import Handler
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.events import Envelope, MirrorFailed, MirrorRequested, VersionMirrored
from modelbay_common.inbox import TransactionalHandler, idempotent, was_handled
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_builder.mirror.copy import Mirrorer
from modelbay_builder.orm import SCHEMA
from modelbay_builder.service import emit

MIRROR_EVENT_TYPES = (MirrorRequested.type,)


def mirror_requested_handler(
    consumer: str, sessions: SessionFactory, mirrorer: Mirrorer
) -> Handler:
    async def handle(envelope: Envelope) -> None:
        async with transaction(sessions) as session:
            if await was_handled(session, consumer, envelope.id, schema=SCHEMA):
                return
        answer = await mirrorer.mirror(envelope.event_as(MirrorRequested))
        await idempotent(consumer, _emitting(answer), sessions=sessions, schema=SCHEMA)(envelope)

    return handle


def _emitting(answer: VersionMirrored | MirrorFailed) -> TransactionalHandler:
    async def record(session: AsyncSession, _: Envelope) -> None:
        await emit(session, answer)

    return record
