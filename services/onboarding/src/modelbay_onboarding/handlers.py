"""Event consumers of the onboarding service (thin: the work is in resolver.py).

The resolver (consumer `onboarding.resolver` by default) consumes `ModelUploaded`: it announces
`DependencyResolutionStarted` (committed at once, so the catalog shows `resolving` while pip
runs), then the slow resolution runs outside any transaction; its outcome is then recorded
through the inbox (`idempotent`), so a redelivered event emits nothing twice. A redelivery after
a committed outcome is skipped before resolving; one that races it re-resolves from the cache
(cheap) and is dropped by the inbox.
"""

from __future__ import annotations

from modelbay_common.bus import Handler
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.events import Envelope, ModelUploaded
from modelbay_common.inbox import idempotent
from modelbay_common.logging import log_context
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_onboarding.orm import SCHEMA
from modelbay_onboarding.resolver import Resolver
from modelbay_onboarding.store import already_handled


def resolve_dependencies_handler(
    consumer: str, resolver: Resolver, sessions: SessionFactory
) -> Handler:
    """The bus handler of `consumer` (settings.consumer_name, `onboarding.resolver`)."""

    async def resolve_dependencies(envelope: Envelope) -> None:
        event = envelope.event_as(ModelUploaded)
        with log_context(event_id=envelope.id, subject=event.subject):
            async with transaction(sessions) as session:
                if await already_handled(session, consumer, envelope.id):
                    return
                cached = await resolver.cached_lock(session, event)
                await resolver.announce_start(session, event)
            outcome = await resolver.resolve(event, cached)

            async def record(session: AsyncSession, _: Envelope) -> None:
                await resolver.record(session, event, outcome)

            await idempotent(consumer, record, sessions=sessions, schema=SCHEMA)(envelope)

    return resolve_dependencies
