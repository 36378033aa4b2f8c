"""The audit log (docs/trust.md, "Audit log"): who did what to what, and when.

Two ways in, one table (`gateway.audit_log`), never updated or deleted:
- **The gateway's own actions** (users, tokens, organisations, pickle allowances) are recorded
  by `AuditLog.record` in the same transaction as the action, so an action that rolled back left
  no entry and an entry always means the action happened. Organisation changes are recorded by
  the emitter that writes their events (`audited_emitter`), one place for all of them.
- **The catalog's actions** (publish with its visibility, publish requests and decisions,
  aliases) reach the gateway as events on its consumer queue (`audit_events`); each is recorded
  with its event id, unique, so a redelivered event adds nothing.

Administrators read it through `GET /v1/admin/audit?actor=&action=&since=` (api_audit.py), newest
first, in keyset pages over the id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelbay_common.db import SessionFactory, transaction
from modelbay_common.events import (
    AliasMoved,
    AliasRemoved,
    Envelope,
    EventPayload,
    PublishApproved,
    PublishDeclined,
    Published,
    PublishRequested,
)
from modelbay_common.events.publication import ModelDeleted
from modelbay_common.outbox import EventEmitter
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_gateway.orm import AuditEntryRow

# Catalog events that are actions of a person, by type, with the audit action they record.
AUDITED_EVENTS: dict[str, str] = {
    Published.type: "model.published",
    PublishRequested.type: "model.publish_requested",
    PublishApproved.type: "model.publish_approved",
    PublishDeclined.type: "model.publish_declined",
    AliasMoved.type: "model.alias_moved",
    AliasRemoved.type: "model.alias_removed",
    ModelDeleted.type: "model.deleted",
}
# Event fields that are about the event, not details of the action.
_ENVELOPE_FIELDS = frozenset({"owner", "name", "version", "org"})


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    event_id: str | None


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." (`token.` = every token action)
    since: datetime | None = None
    before_id: int | None = None  # the keyset cursor: entries older than this one
    limit: int = 50


class AuditLog:
    """The queries of the audit log, over the caller's session (it flushes, never commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        actor: str,
        action: str,
        target: str,
        details: dict[str, Any] | None = None,
        *,
        event_id: str | None = None,
    ) -> None:
        statement = insert(AuditEntryRow).values(
            actor=actor, action=action, target=target, details=details or {}, event_id=event_id
        )
        if event_id is not None:
            statement = statement.on_conflict_do_nothing(index_elements=["event_id"])
        await self._session.execute(statement)

    async def page(self, query: AuditQuery) -> list[AuditEntry]:
        """Newest first; at most `query.limit` entries."""
        statement = select(AuditEntryRow).order_by(AuditEntryRow.id.desc()).limit(query.limit)
        if query.actor is not None:
            statement = statement.where(AuditEntryRow.actor == query.actor)
        if query.action is not None:
            if query.action.endswith("."):
                statement = statement.where(AuditEntryRow.action.startswith(query.action))
            else:
                statement = statement.where(AuditEntryRow.action == query.action)
        if query.since is not None:
            statement = statement.where(AuditEntryRow.at >= query.since)
        if query.before_id is not None:
            statement = statement.where(AuditEntryRow.id < query.before_id)
        rows = await self._session.scalars(statement)
        return [
            AuditEntry(row.id, row.at, row.actor, row.action, row.target, row.details, row.event_id)
            for row in rows
        ]


def actor_of(event: EventPayload) -> str:
    """The person an event names as having acted: its `..._by` field (`published_by`, ...)."""
    data = event.model_dump()
    for field, value in data.items():
        if field.endswith("_by") and isinstance(value, str) and field != "requested_by":
            return value
    requested = data.get("requested_by")
    return requested if isinstance(requested, str) else "unknown"


def _details_of(event: EventPayload) -> dict[str, Any]:
    data = event.model_dump(mode="json")
    return {key: value for key, value in data.items() if key not in _ENVELOPE_FIELDS}


def audit_events(
    sessions: SessionFactory, deliver: Callable[[Envelope], Awaitable[None]]
) -> Callable[[Envelope], Awaitable[None]]:
    """The gateway's consumer: record the catalog's audited actions, then hand every event on
    (to the SSE hub). Recording first means a failed write retries the event before anyone saw it;
    the hub deduplicates redeliveries by event id."""

    async def handle(envelope: Envelope) -> None:
        action = AUDITED_EVENTS.get(envelope.type)
        if action is not None:
            event = envelope.data
            async with transaction(sessions) as session:
                await AuditLog(session).record(
                    actor_of(event),
                    action,
                    event.subject,
                    _details_of(event),
                    event_id=envelope.id,
                )
        await deliver(envelope)

    return handle


def audited_emitter(
    emitter: EventEmitter, action_prefix: str
) -> Callable[[AsyncSession, EventPayload], Awaitable[Envelope]]:
    """`emitter`, recording each event it writes as an audit entry in the same transaction
    (`org.created`, `org.member_added`, ...: the event type's verb under `action_prefix`)."""

    async def emit(session: AsyncSession, event: EventPayload) -> Envelope:
        envelope = await emitter(session, event)
        verb = event.type.split(".")[-2]  # modelbay.org.member_added.v1 → member_added
        await AuditLog(session).record(
            actor_of(event), f"{action_prefix}.{verb}", event.subject, _details_of(event)
        )
        return envelope

    return emit
