"""Routes of webhooks (docs/webhooks.md):

    POST   /v1/webhooks                                   register (the secret: this answer only)
    GET    /v1/webhooks                                   mine, and my organisations' (as owner)
    GET    /v1/webhooks/{id}
    PATCH  /v1/webhooks/{id}                              url, events, active
    DELETE /v1/webhooks/{id}
    POST   /v1/webhooks/{id}/rotate-secret                a new secret, shown once
    GET    /v1/webhooks/{id}/deliveries?before=&limit=    the delivery log, newest first
    POST   /v1/webhooks/{id}/deliveries/{delivery}/redeliver

A user's webhook is managed by that user; an organisation's by its owners (and administrators).
Anyone else gets the same 404 as for a webhook that does not exist.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from modelbay_common.access import OrgRole, can_manage_members
from modelbay_common.db import transaction
from modelbay_common.errors import Forbidden, NotFound
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from modelbay_gateway.audit import AuditLog
from modelbay_gateway.auth import SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.records import Principal
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.webhooks import (
    Delivery,
    Webhook,
    WebhookStore,
    as_utc,
    check_target_off_loop,
    new_secret,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

EventPattern = Annotated[
    str, Field(pattern=r"^(\*|modelbay\.[a-z_.]+(\.\*|\.v[0-9]+))$", max_length=200)
]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(description="where events are POSTed (https in production)")
    events: list[EventPattern] = Field(
        default_factory=list,
        max_length=50,
        description="event types (`modelbay.model.published.v1`) or prefixes (`modelbay.model.*`); "
        "empty: every event",
    )
    org: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="register for an organisation you own",
    )


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = None
    events: list[EventPattern] | None = Field(default=None, max_length=50)
    active: bool | None = None


class WebhookOut(BaseModel):
    id: uuid.UUID
    owner: str
    org: str | None
    url: str
    events: list[str]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, hook: Webhook) -> "WebhookOut":
        return cls(
            id=hook.id,
            owner=hook.owner,
            org=hook.org,
            url=hook.url,
            events=list(hook.event_types),
            active=hook.active,
            created_at=hook.created_at,
        )


class WebhookSecretOut(WebhookOut):
    secret: str = Field(description="the `whsec_` signing secret: shown only in this answer")


class DeliveryOut(BaseModel):
    id: uuid.UUID
    webhook_id: str = Field(description="the `webhook-id` header: `msg_<id>`")
    event_id: str
    event_type: str
    status: str = Field(description="pending, succeeded or failed")
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> "DeliveryOut":
        return cls(
            id=delivery.id,
            webhook_id=f"msg_{delivery.id}",
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )


class WebhookNotFound(NotFound):
    type_slug = "webhook-not-found"
    title = "Webhook not found"


def _may_manage(principal: Principal, hook: Webhook) -> bool:
    caller = caller_of(principal)
    if hook.org is not None:
        return can_manage_members(caller, hook.org)
    return caller.admin or hook.owner == principal.username


async def _managed(store: WebhookStore, principal: Principal, webhook_id: uuid.UUID) -> Webhook:
    hook = await store.get(webhook_id)
    if hook is None or not _may_manage(principal, hook):
        raise WebhookNotFound(f"no webhook {webhook_id} that you manage")
    return hook


async def _check_url(context: ContextDep, url: str) -> None:
    await check_target_off_loop(url, allow_private=context.settings.webhook_allow_private_targets)


@router.post("", response_model=WebhookSecretOut, status_code=201)
async def register_webhook(
    principal: SignedIn, body: WebhookIn, context: ContextDep
) -> WebhookSecretOut:
    """Register an endpoint; sign-verify deliveries with the secret in this answer."""
    if body.org is not None and not can_manage_members(caller_of(principal), body.org):
        raise Forbidden(f"only an owner of {body.org!r} may register its webhooks")
    url = str(body.url)
    await _check_url(context, url)
    secret = new_secret()
    async with transaction(context.sessions) as session:
        hook = await WebhookStore(session).add(
            principal.username, body.org, url, body.events, secret
        )
        await AuditLog(session).record(
            principal.username,
            "webhook.created",
            f"webhook:{hook.id}",
            {"url": url, "org": body.org},
        )
    return WebhookSecretOut(**WebhookOut.of(hook).model_dump(), secret=secret)


@router.get("", response_model=list[WebhookOut])
async def list_webhooks(principal: SignedIn, context: ContextDep) -> list[WebhookOut]:
    """Your webhooks, and those of the organisations you own."""
    owned = [m.org for m in principal.memberships if m.role is OrgRole.OWNER]
    async with transaction(context.sessions) as session:
        hooks = await WebhookStore(session).visible_to(principal.username, owned)
    return [WebhookOut.of(hook) for hook in hooks]


@router.get("/{webhook_id}", response_model=WebhookOut)
async def get_webhook(
    principal: SignedIn, webhook_id: uuid.UUID, context: ContextDep
) -> WebhookOut:
    async with transaction(context.sessions) as session:
        return WebhookOut.of(await _managed(WebhookStore(session), principal, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookOut)
async def change_webhook(
    principal: SignedIn, webhook_id: uuid.UUID, body: WebhookPatch, context: ContextDep
) -> WebhookOut:
    """Change the URL, the event filter, or pause (`active: false`) and resume."""
    changes: dict[str, object] = {}
    if body.url is not None:
        await _check_url(context, str(body.url))
        changes["url"] = str(body.url)
    if body.events is not None:
        changes["event_types"] = body.events
    if body.active is not None:
        changes["active"] = body.active
    async with transaction(context.sessions) as session:
        store = WebhookStore(session)
        await _managed(store, principal, webhook_id)
        if changes:
            await store.change(webhook_id, **changes)
        hook = await store.get(webhook_id)
    assert hook is not None
    return WebhookOut.of(hook)


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
async def delete_webhook(
    principal: SignedIn, webhook_id: uuid.UUID, context: ContextDep
) -> Response:
    """Delete the webhook and its delivery log."""
    async with transaction(context.sessions) as session:
        store = WebhookStore(session)
        await _managed(store, principal, webhook_id)
        await store.delete(webhook_id)
        await AuditLog(session).record(
            principal.username, "webhook.deleted", f"webhook:{webhook_id}", {}
        )
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookSecretOut)
async def rotate_secret(
    principal: SignedIn, webhook_id: uuid.UUID, context: ContextDep
) -> WebhookSecretOut:
    """A new signing secret, at once (the old one stops signing); shown only in this answer."""
    secret = new_secret()
    async with transaction(context.sessions) as session:
        store = WebhookStore(session)
        hook = await _managed(store, principal, webhook_id)
        await store.change(webhook_id, secret=secret)
        await AuditLog(session).record(
            principal.username, "webhook.secret_rotated", f"webhook:{webhook_id}", {}
        )
    return WebhookSecretOut(**WebhookOut.of(hook).model_dump(), secret=secret)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
async def deliveries(
    principal: SignedIn,
    webhook_id: uuid.UUID,
    context: ContextDep,
    before: Annotated[
        datetime | None, Query(description="older than this `created_at` (the next page)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryOut]:
    """The delivery log, newest first: status, attempts, the endpoint's last answer."""
    async with transaction(context.sessions) as session:
        store = WebhookStore(session)
        await _managed(store, principal, webhook_id)
        found = await store.deliveries(webhook_id, as_utc(before), limit)
    return [DeliveryOut.of(delivery) for delivery in found]


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=202, response_class=Response
)
async def redeliver(
    principal: SignedIn, webhook_id: uuid.UUID, delivery_id: uuid.UUID, context: ContextDep
) -> Response:
    """Send a delivery again now (same `webhook-id`, a fresh count of attempts)."""
    async with transaction(context.sessions) as session:
        store = WebhookStore(session)
        await _managed(store, principal, webhook_id)
        if not await store.redeliver(webhook_id, delivery_id):
            raise NotFound(f"webhook {webhook_id} has no delivery {delivery_id}")
    return Response(status_code=202)
