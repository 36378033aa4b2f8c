"""What the gateway does once at start-up: make sure the bootstrap administrator exists.

A worker of the service host (`main.py`), started after the bus; it owns its transaction the way
a request dependency does for a route (use cases in service.py only flush).
"""

from __future__ import annotations

import logging

from modelbay_common.db import SessionFactory, transaction

from modelbay_gateway.service import ensure_bootstrap_admin
from modelbay_gateway.settings import GatewaySettings
from modelbay_gateway.store import UserStore

log = logging.getLogger(__name__)


async def bootstrap_admin(sessions: SessionFactory, settings: GatewaySettings) -> None:
    """Create or update `ADMIN_USERNAME` with `ADMIN_TOKEN`; nothing when no name is set."""
    username = settings.admin_username
    if not username:
        return
    async with transaction(sessions) as session:
        await ensure_bootstrap_admin(UserStore(session), username, settings.admin_token)
    log.info("bootstrap administrator %r is ready", username)
