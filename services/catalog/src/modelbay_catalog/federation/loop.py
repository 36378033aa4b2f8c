"""The sync loop: every few seconds, sync each peer whose next attempt is due.

A peer is due `FEDERATION_SYNC_SECONDS` after its last success, or after its back-off when the
last attempt failed (rules.backoff_seconds). Each sync is one transaction holding the peer's
row (`FOR UPDATE SKIP LOCKED`), so replicas of the catalog share the peers without reading a
feed twice. "Sync now" (`POST /internal/federation/peers/{peer}/sync`) runs the same sync at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.host_status import StatusExtra

from modelbay_catalog.federation.store import FederationStore
from modelbay_catalog.federation.sync import SyncPolicy, sync_peer
from modelbay_catalog.store import CatalogStore

log = logging.getLogger(__name__)

MAX_SYNCS_PER_ROUND = 100  # then sleep: one round never starves the process


class SyncLoop:
    """An extra worker of the catalog's host (`start`/`stop`)."""

    def __init__(
        self,
        sessions: SessionFactory,
        http: httpx.AsyncClient,
        policy: SyncPolicy,
        poll_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._http = http
        self._policy = policy
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="federation-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sync_due(self) -> int:
        """Sync every due peer once; how many were synced."""
        synced = 0
        for _ in range(MAX_SYNCS_PER_ROUND):
            async with transaction(self._sessions) as session:
                peer = await FederationStore(session).claim_due_peer(datetime.now(UTC))
                if peer is None:
                    return synced
                await sync_peer(CatalogStore(session), self._http, peer, self._policy)
            synced += 1
        return synced

    async def _run(self) -> None:
        while True:
            try:
                await self.sync_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next round tries again; the error is the operator's news
                log.exception("federation sync round failed")
            await asyncio.sleep(self._poll_seconds)


def federation_status(sessions: SessionFactory) -> StatusExtra:
    """What the catalog adds to its `/internal/status` (`modelbay admin status`): its peers and
    those whose last sync failed, with why."""

    async def read() -> dict[str, Any]:
        async with transaction(sessions) as session:
            peers = await FederationStore(session).list_peers()
        failing = [
            {
                "peer": peer.name,
                "consecutive_failures": peer.consecutive_failures,
                "last_error": peer.last_error,
                "next_attempt_at": peer.next_attempt_at.isoformat(),
            }
            for peer in peers
            if peer.consecutive_failures
        ]
        return {"federation": {"peers": len(peers), "failing": failing}}

    return read
