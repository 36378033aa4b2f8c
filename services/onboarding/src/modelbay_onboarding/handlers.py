"""Event consumers of the onboarding service (thin: the work is in resolver.py).

The resolver (consumer `onboarding.resolver` by default) consumes `ModelUploaded`; how one event
is resolved, announced and recorded exactly once is `Resolver.handle`.
"""

from __future__ import annotations

from modelbay_common.bus import Handler
from modelbay_common.db import SessionFactory
from modelbay_common.events import Envelope
from modelbay_common.logging import log_context

from modelbay_onboarding.resolver import Resolver


def resolve_dependencies_handler(
    consumer: str, resolver: Resolver, sessions: SessionFactory
) -> Handler:
    """The bus handler of `consumer` (settings.consumer_name, `onboarding.resolver`)."""

    async def resolve_dependencies(envelope: Envelope) -> None:
        with log_context(event_id=envelope.id, subject=envelope.subject):
            await resolver.handle(envelope, consumer=consumer, sessions=sessions)

    return resolve_dependencies
