"""Sending webhook deliveries (docs/webhooks.md): the fan-out from events, and the worker.

`webhook_fanout` runs in the gateway's event consumer after the SSE hub: it writes one
delivery row per webhook that wants the event and whose owner may see the model, in one
transaction (unique per webhook and event, so redeliveries of the event add nothing).

`WebhookDeliverer` is an extra worker of the gateway: every `webhook_poll_seconds` it claims due
rows (FOR UPDATE SKIP LOCKED, so replicas share the work) by pushing their `next_attempt_at`
past the request timeout (a lease: a replica killed mid-send leaves the row to be retried),
commits, sends them concurrently, and records each outcome: 2xx → `succeeded`; anything else
→ retried after base·2^(attempt-1) seconds (capped), half of it random jitter, until
`webhook_max_attempts`, then `failed`. Delivery is at-least-once; receivers deduplicate by the
`webhook-id` header.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from modelbay_common.access import Caller, ModelAccess, Visibility
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.errors import ModelbayError
from modelbay_common.events import Envelope, Event, ModelUploaded, Published
from sqlalchemy import select

from modelbay_gateway.orm import WebhookDeliveryRow, WebhookRow
from modelbay_gateway.store import UserStore
from modelbay_gateway.visibility import VisibilityCache
from modelbay_gateway.webhook_settings import WebhookSettings
from modelbay_gateway.webhooks import (
    Webhook,
    WebhookStore,
    check_target_off_loop,
    may_receive,
    recipient,
    sign,
)

log = logging.getLogger(__name__)


async def _access_of(visibility: VisibilityCache, data: Event) -> ModelAccess:
    """The model's owner, organisation and visibility, as the SSE hub reads them."""
    if isinstance(data, Published):  # the newest word on visibility
        known = await visibility.access(data.owner, data.name)
        return ModelAccess(data.owner, known.owner_org, Visibility(data.visibility))
    org = data.owner_org if isinstance(data, ModelUploaded) else None
    return await visibility.access(data.owner, data.name, owner_org=org)


async def _recipient(users: UserStore, webhook: Webhook) -> Caller | None:
    if webhook.org is not None:
        return recipient(webhook, (), admin=False)
    user = await users.user_by_name(webhook.owner)
    if user is None:  # the account is gone: its webhooks receive nothing
        return None
    return recipient(webhook, await users.memberships_of(user.id), admin=user.is_admin)


def webhook_fanout(
    sessions: SessionFactory, visibility: VisibilityCache
) -> Callable[[Envelope], Awaitable[None]]:
    async def fan_out(envelope: Envelope) -> None:
        data = envelope.data
        if not isinstance(data, Event):
            return
        async with transaction(sessions) as session:
            store = WebhookStore(session)
            wanting = [hook for hook in await store.active() if hook.wants(envelope.type)]
            if not wanting:
                return
            access = await _access_of(visibility, data)
            users = UserStore(session)
            body = envelope.model_dump_json()
            for webhook in wanting:
                caller = await _recipient(users, webhook)
                if caller is not None and may_receive(webhook, caller, access):
                    await store.enqueue(webhook.id, envelope.id, envelope.type, body)

    return fan_out


def then(
    first: Callable[[Envelope], Awaitable[None]], second: Callable[[Envelope], Awaitable[None]]
) -> Callable[[Envelope], Awaitable[None]]:
    async def both(envelope: Envelope) -> None:
        await first(envelope)
        await second(envelope)

    return both


@dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    url: str
    secret: str
    payload: str
    attempts: int


def retry_delay(attempt: int, settings: WebhookSettings) -> float:
    """Seconds before attempt `attempt + 1`: exponential, capped, half of it random jitter."""
    growing: float = settings.webhook_backoff_seconds * 2.0 ** (attempt - 1)
    delay = min(settings.webhook_backoff_cap_seconds, growing)
    return delay / 2 + random.uniform(0, delay / 2)


class WebhookDeliverer:
    """The extra worker that sends due deliveries."""

    def __init__(self, sessions: SessionFactory, settings: WebhookSettings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        timeout = httpx.Timeout(self._settings.webhook_timeout_seconds)
        # No redirects: a 3xx could point a delivery at a target the URL check refused.
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._task = asyncio.create_task(self._run(), name="webhook-deliverer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be down for a while: keep polling
                log.exception("webhook deliveries could not be claimed")
                sent = 0
            if sent == 0:
                await asyncio.sleep(self._settings.webhook_poll_seconds)

    async def deliver_due(self) -> int:
        """Claim and send one batch; the number sent."""
        claimed = await self._claim()
        await asyncio.gather(*(self._send(item) for item in claimed))
        return len(claimed)

    async def _claim(self) -> list[_Claimed]:
        lease = timedelta(seconds=self._settings.webhook_timeout_seconds * 3)
        now = datetime.now(UTC)
        async with transaction(self._sessions) as session:
            rows = (
                await session.execute(
                    select(WebhookDeliveryRow, WebhookRow)
                    .join(WebhookRow, WebhookRow.id == WebhookDeliveryRow.webhook_id)
                    .where(
                        WebhookDeliveryRow.status == "pending",
                        WebhookDeliveryRow.next_attempt_at <= now,
                        WebhookRow.active.is_(True),
                    )
                    .order_by(WebhookDeliveryRow.next_attempt_at)
                    .limit(self._settings.webhook_batch_size)
                    .with_for_update(of=WebhookDeliveryRow, skip_locked=True)
                )
            ).all()
            claimed = []
            for delivery, webhook in rows:
                delivery.next_attempt_at = now + lease
                claimed.append(
                    _Claimed(
                        delivery.id,
                        webhook.url,
                        webhook.secret,
                        delivery.payload,
                        delivery.attempts,
                    )
                )
        return claimed

    async def _send(self, item: _Claimed) -> None:
        assert self._client is not None
        status: int | None = None
        error: str | None = None
        try:
            await check_target_off_loop(
                item.url, allow_private=self._settings.webhook_allow_private_targets
            )
            body = item.payload.encode()
            timestamp = int(time.time())
            message_id = f"msg_{item.id}"
            response = await self._client.post(
                item.url,
                content=body,
                headers={
                    "content-type": "application/json",
                    "webhook-id": message_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": sign(item.secret, message_id, timestamp, body),
                    "user-agent": "Modelbay-Webhooks/1",
                },
            )
            status = response.status_code
            if not response.is_success:
                error = f"the endpoint answered {status}"
        except ModelbayError as exc:  # the target check: refused for good
            error = exc.detail or exc.title
            await self._record(item, status, error, final=True)
            return
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        await self._record(item, status, error, final=False)

    async def _record(
        self, item: _Claimed, status: int | None, error: str | None, *, final: bool
    ) -> None:
        attempts = item.attempts + 1
        now = datetime.now(UTC)
        async with transaction(self._sessions) as session:
            row = await session.get(WebhookDeliveryRow, item.id, with_for_update=True)
            if row is None:  # the webhook was deleted meanwhile
                return
            row.attempts = attempts
            row.last_status_code = status
            row.last_error = error
            if error is None:
                row.status, row.delivered_at = "succeeded", now
            elif final or attempts >= self._settings.webhook_max_attempts:
                row.status = "failed"
                log.warning(
                    "webhook delivery %s failed after %d attempts: %s", item.id, attempts, error
                )
            else:
                row.next_attempt_at = now + timedelta(seconds=retry_delay(attempts, self._settings))
