"""Operator routes: the bus's dead-letter queues (`modelbay admin dlq list/replay`).

    GET  /v1/admin/dead-letters                       every known consumer's DLQ, first letters
    POST /v1/admin/dead-letters/{consumer}/replay     move letters back to the consumer's queue

Administrators only. The gateway reads the queues through its own bus connection
(`modelbay_common.bus.DeadLetterAdmin`), so no broker credentials leave the platform. Only the
consumers named in `dead_letter_consumers` (and the gateway's own) are reachable: a typo never
declares a queue, and nobody reads arbitrary queues through this route.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from modelbay_common.bus import DeadLetter, DeadLetterAdmin
from modelbay_common.db import transaction
from modelbay_common.errors import NotFound, ServiceUnavailable
from pydantic import BaseModel, Field

from modelbay_gateway.audit import AuditLog
from modelbay_gateway.auth import SignedIn
from modelbay_gateway.context import ContextDep, GatewayContext
from modelbay_gateway.errors import AdminRequired

router = APIRouter(prefix="/v1/admin", tags=["admin"])

MAX_SHOWN = 1000


class UnknownConsumer(NotFound):
    type_slug = "unknown-consumer"
    title = "Unknown consumer"

    def __init__(self, consumer: str, known: list[str]) -> None:
        super().__init__(
            f"{consumer!r} is not a consumer this platform knows; its dead-letter queues are "
            f"those of {', '.join(known)} (see `modelbay admin dlq list`).",
            extensions={"consumer": consumer, "known": known},
        )


class NoDeadLetterAdmin(ServiceUnavailable):
    type_slug = "dead-letters-unavailable"
    title = "Dead letters unavailable"

    def __init__(self) -> None:
        super().__init__("This gateway's bus offers no view of its dead-letter queues.")


class DeadLetterOut(BaseModel):
    event_id: str | None
    event_type: str | None
    attempts: int
    error: str
    failed_at: datetime

    @classmethod
    def of(cls, letter: DeadLetter) -> "DeadLetterOut":
        return cls(
            event_id=letter.event_id,
            event_type=letter.event_type,
            attempts=letter.attempts,
            error=letter.error,
            failed_at=letter.failed_at,
        )


class DeadLetterQueueOut(BaseModel):
    consumer: str
    queue: str = Field(description="The RabbitMQ queue (`<consumer>.dlq`)")
    exists: bool = Field(description="False when the consumer never subscribed on this broker")
    count: int = Field(description="Letters shown (at most `limit`)")
    more: bool = Field(description="True when the queue holds more than `limit` letters")
    letters: list[DeadLetterOut]


class DeadLettersOut(BaseModel):
    queues: list[DeadLetterQueueOut]
    total: int = Field(description="Letters shown over every queue")


class ReplayOut(BaseModel):
    consumer: str
    replayed: int


def _known_consumers(context: GatewayContext) -> list[str]:
    configured = list(context.settings.dead_letter_consumers)
    own = context.settings.consumer_name
    return configured if own in configured else [*configured, own]


def _admin_view(principal: SignedIn, context: GatewayContext, action: str) -> DeadLetterAdmin:
    if not principal.user.is_admin:
        raise AdminRequired(action)
    if context.dead_letters is None:
        raise NoDeadLetterAdmin()
    return context.dead_letters


@router.get("/dead-letters", response_model=DeadLettersOut)
async def list_dead_letters(
    principal: SignedIn,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=MAX_SHOWN, description="Letters shown per queue")] = 20,
) -> DeadLettersOut:
    """Every known consumer's dead-letter queue with its first letters, left in place."""
    admin = _admin_view(principal, context, "read dead-letter queues")
    queues = []
    for consumer in _known_consumers(context):
        try:
            # One more than shown tells whether there are more.
            letters = await admin.dead_letters(consumer, limit + 1)
            exists = True
        except LookupError:
            letters, exists = [], False
        shown = letters[:limit]
        queues.append(
            DeadLetterQueueOut(
                consumer=consumer,
                queue=f"{consumer}.dlq",
                exists=exists,
                count=len(shown),
                more=len(letters) > limit,
                letters=[DeadLetterOut.of(letter) for letter in shown],
            )
        )
    return DeadLettersOut(queues=queues, total=sum(queue.count for queue in queues))


@router.post("/dead-letters/{consumer}/replay", response_model=ReplayOut)
async def replay_dead_letters(
    principal: SignedIn,
    context: ContextDep,
    consumer: Annotated[str, Path(max_length=200)],
    limit: Annotated[
        int | None, Query(ge=1, description="At most this many (default: all present now)")
    ] = None,
) -> ReplayOut:
    """Move a consumer's dead letters back to its queue with a fresh attempt count. Fix the
    cause first, or they come back."""
    admin = _admin_view(principal, context, "replay dead letters")
    known = _known_consumers(context)
    if consumer not in known:
        raise UnknownConsumer(consumer, known)
    try:
        replayed = await admin.replay_dead_letters(consumer, limit)
    except LookupError:
        replayed = 0  # the consumer never subscribed here: nothing was ever dead-lettered
    async with transaction(context.sessions) as session:
        await AuditLog(session).record(
            principal.username,
            "admin.dead_letters_replayed",
            f"consumer:{consumer}",
            {"replayed": replayed, "limit": limit},
        )
    return ReplayOut(consumer=consumer, replayed=replayed)
