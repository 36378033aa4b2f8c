"""Thin consumer of DependenciesResolved: queue the build (inbox-guarded), then wake the worker."""

from __future__ import annotations

from modelbay_common.bus.port import Handler
from modelbay_common.db import SessionFactory
from modelbay_common.events import DependenciesResolved, Envelope
from modelbay_common.inbox import idempotent
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_builder.orm import SCHEMA
from modelbay_builder.service import request_build
from modelbay_builder.worker import BuildWorker

BUILD_EVENT_TYPES = (DependenciesResolved.type,)


async def queue_build(session: AsyncSession, event: Envelope) -> None:
    await request_build(session, event.event_as(DependenciesResolved))


def dependencies_resolved_handler(
    consumer: str, sessions: SessionFactory, worker: BuildWorker
) -> Handler:
    """One short transaction per event (the build itself runs in the worker, after commit)."""
    queue_once = idempotent(consumer, queue_build, sessions=sessions, schema=SCHEMA)

    async def handle(event: Envelope) -> None:
        await queue_once(event)
        worker.wake()

    return handle
