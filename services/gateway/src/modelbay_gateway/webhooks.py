"""Webhooks (docs/webhooks.md): Standard Webhooks signatures, targets, and the delivery table.

A webhook belongs to a user, or to an organisation (managed by its owners). Every model event
the gateway consumes is matched against the active webhooks (`enqueue_for_event`): a webhook
whose filter takes the event type *and* whose owner may see the model (`modelbay_common.access`,
the rule SSE applies) gets a delivery row, in one transaction per event, unique per (webhook,
event) so a redelivered event adds nothing. The delivery worker (webhook_delivery.py) sends due
rows, signed, and retries with exponential back-off and jitter up to a cap, then marks `failed`.

Signatures follow Standard Webhooks: headers `webhook-id` (the delivery id, the same on every
retry and redelivery so receivers can deduplicate), `webhook-timestamp` (Unix seconds) and
`webhook-signature` = `v1,` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), the key
being the base64 part of the `whsec_...` secret.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from modelbay_common.access import Caller, Membership, ModelAccess, OrgRole, can_see
from modelbay_common.errors import UnprocessableContent
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_gateway.orm import WebhookDeliveryRow, WebhookRow

SECRET_PREFIX = "whsec_"


class UnsafeWebhookTarget(UnprocessableContent):
    title = "Webhook target refused"
    type_slug = "webhook-target-refused"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


async def check_target_off_loop(url: str, *, allow_private: bool) -> None:
    """`check_target` in a worker thread: name resolution blocks, the event loop must not."""
    await asyncio.to_thread(check_target, url, allow_private=allow_private)


def as_utc(moment: datetime | None) -> datetime | None:
    """A query's datetime as an aware one: one without a zone is taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse a URL a webhook must not call: not http(s), or (unless allowed) one whose host
    resolves to a loopback, private, link-local, multicast or reserved address (SSRF: a webhook
    must not make the gateway reach into its own network). Checked at registration and again
    before each delivery, because DNS answers change."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeWebhookTarget(f"{url!r} is not an http(s) URL with a host")
    if parts.username or parts.password:
        raise UnsafeWebhookTarget("webhook URLs may not carry credentials; use the signature")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnsafeWebhookTarget(f"the host of {url!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise UnsafeWebhookTarget(
                f"{parts.hostname} resolves to {address}, a non-public address; webhooks only "
                "call public endpoints (an operator may allow private targets)",
                extensions={"address": str(address)},
            )


@dataclass(frozen=True)
class Webhook:
    id: uuid.UUID
    owner: str
    org: str | None
    url: str
    event_types: tuple[str, ...]
    active: bool
    created_at: datetime

    def wants(self, event_type: str) -> bool:
        """Empty filter: every event; else exact types or `prefix.*` patterns."""
        if not self.event_types:
            return True
        return any(
            event_type == wanted or (wanted.endswith("*") and event_type.startswith(wanted[:-1]))
            for wanted in self.event_types
        )


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _webhook(row: WebhookRow) -> Webhook:
    return Webhook(
        row.id, row.owner, row.org, row.url, tuple(row.event_types), row.active, row.created_at
    )


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        row.id,
        row.webhook_id,
        row.event_id,
        row.event_type,
        row.status,
        row.attempts,
        row.next_attempt_at,
        row.last_status_code,
        row.last_error,
        row.created_at,
        row.delivered_at,
    )


class WebhookStore:
    """The queries of webhooks and deliveries (they flush, never commit)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, owner: str, org: str | None, url: str, event_types: Sequence[str], secret: str
    ) -> Webhook:
        row = WebhookRow(
            id=uuid.uuid4(),
            owner=owner,
            org=org,
            url=url,
            event_types=list(event_types),
            secret=secret,
            active=True,
        )
        self.session.add(row)
        await self.session.flush()
        await self.session.refresh(row)
        return _webhook(row)

    async def get(self, webhook_id: uuid.UUID) -> Webhook | None:
        row = await self.session.get(WebhookRow, webhook_id)
        return None if row is None else _webhook(row)

    async def secret_of(self, webhook_id: uuid.UUID) -> str | None:
        row = await self.session.get(WebhookRow, webhook_id)
        return None if row is None else row.secret

    async def visible_to(self, user: str, orgs: Sequence[str]) -> list[Webhook]:
        rows = await self.session.scalars(
            select(WebhookRow)
            .where(
                or_(
                    and_(WebhookRow.owner == user, WebhookRow.org.is_(None)),
                    WebhookRow.org.in_(list(orgs)),
                )
            )
            .order_by(WebhookRow.created_at, WebhookRow.id)
        )
        return [_webhook(row) for row in rows]

    async def active(self) -> list[Webhook]:
        rows = await self.session.scalars(select(WebhookRow).where(WebhookRow.active.is_(True)))
        return [_webhook(row) for row in rows]

    async def change(self, webhook_id: uuid.UUID, **values: object) -> None:
        await self.session.execute(
            update(WebhookRow).where(WebhookRow.id == webhook_id).values(**values)
        )

    async def delete(self, webhook_id: uuid.UUID) -> None:
        row = await self.session.get(WebhookRow, webhook_id)
        if row is not None:
            await self.session.delete(row)
            await self.session.flush()

    async def enqueue(
        self, webhook_id: uuid.UUID, event_id: str, event_type: str, body: str
    ) -> None:
        statement = insert(WebhookDeliveryRow).values(
            id=uuid.uuid4(),
            webhook_id=webhook_id,
            event_id=event_id,
            event_type=event_type,
            payload=body,
        )
        await self.session.execute(
            statement.on_conflict_do_nothing(constraint="webhook_deliveries_event_key")
        )

    async def deliveries(
        self, webhook_id: uuid.UUID, before: datetime | None, limit: int
    ) -> list[Delivery]:
        statement = (
            select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.webhook_id == webhook_id)
            .order_by(WebhookDeliveryRow.created_at.desc())
            .limit(limit)
        )
        if before is not None:
            statement = statement.where(WebhookDeliveryRow.created_at < before)
        return [_delivery(row) for row in await self.session.scalars(statement)]

    async def redeliver(self, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> bool:
        """Send again now, whatever its state: same id, fresh attempt count."""
        result = await self.session.execute(
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.id == delivery_id, WebhookDeliveryRow.webhook_id == webhook_id
            )
            .values(status="pending", attempts=0, next_attempt_at=func.now(), last_error=None)
        )
        return bool(getattr(result, "rowcount", 0))


def recipient(webhook: Webhook, memberships: tuple[Membership, ...], admin: bool) -> Caller:
    """Who a webhook delivers to, for `can_see`: its user (with their organisations), or for an
    organisation's webhook the organisation as a reader member (its `org` and public models)."""
    if webhook.org is None:
        return Caller(user=webhook.owner, admin=admin, memberships=memberships)
    return Caller(user=f"org:{webhook.org}", memberships=(Membership(webhook.org, OrgRole.READER),))


def may_receive(webhook: Webhook, caller: Caller, access: ModelAccess) -> bool:
    return webhook.active and can_see(caller, access)
