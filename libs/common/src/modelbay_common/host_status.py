"""One service's status for the operator's view (`GET /v1/admin/status`, `modelbay admin status`).

`service_status(...)` gathers, fresh, what an operator asks first: is it live and ready (and if
not, why), how many events wait in its outbox and how old the oldest is, how many messages wait
in each of its consumers' queues and dead-letter queues, plus what the service adds itself
(`extras`: the builder's builds in flight and its oldest stuck build with the reason). Every read
is bounded by `READ_TIMEOUT_SECONDS`; a read that fails is reported as an `error` in its place,
never as a failure of the whole answer.

The internal services serve it as `GET /internal/status` (signed like every internal call); the
gateway asks them and adds its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from modelbay_common.db import SessionFactory
from modelbay_common.health import HostHealth

__all__ = ["STATUS_PATH", "StatusExtra", "install_status_route", "read_outbox", "service_status"]

STATUS_PATH = "/internal/status"
READ_TIMEOUT_SECONDS = 3.0

StatusExtra = Callable[[], Awaitable[dict[str, Any]]]
"""What a service adds to its status (the builder: builds in flight, oldest stuck build)."""


@runtime_checkable
class CountsQueues(Protocol):
    async def queue_depth(self, consumer: str) -> int: ...

    async def dead_letter_count(self, consumer: str) -> int: ...


async def read_outbox(service: str, sessions: SessionFactory) -> tuple[int, float]:
    """Unpublished rows of `<service>.outbox` and the age in seconds of the oldest (0 if none)."""
    from modelbay_common.outbox import outbox_table

    table = outbox_table(service)
    query = select(func.count(), func.min(table.c.created_at)).where(table.c.published_at.is_(None))
    async with sessions() as session:
        count, oldest = (await session.execute(query)).one()
    age = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
    return int(count), max(age, 0.0)


async def _bounded(read: Awaitable[Any]) -> Any:
    try:
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            return await read
    except TimeoutError:
        return {"error": f"no answer within {READ_TIMEOUT_SECONDS:g} s"}
    except Exception as exc:  # one unreadable figure must not hide the others
        return {"error": f"{type(exc).__name__}: {exc}"}


async def _outbox(service: str, sessions: SessionFactory) -> dict[str, Any]:
    backlog, age = await read_outbox(service, sessions)
    return {"backlog": backlog, "oldest_age_seconds": round(age, 1)}


async def _queue(bus: CountsQueues, consumer: str) -> dict[str, Any]:
    return {
        "messages": await bus.queue_depth(consumer),
        "dead_letters": await bus.dead_letter_count(consumer),
    }


async def service_status(
    *,
    service: str,
    health: HostHealth,
    sessions: SessionFactory,
    has_outbox: bool,
    bus: object,
    consumers: Sequence[str],
    extras: StatusExtra | None = None,
) -> dict[str, Any]:
    liveness = health.liveness()
    readiness = await health.readiness()
    status: dict[str, Any] = {
        "service": service,
        "live": liveness.ok,
        "ready": readiness.ok,
        "problems": {**liveness.failures, **readiness.failures},
    }
    if has_outbox:
        status["outbox"] = await _bounded(_outbox(service, sessions))
    if isinstance(bus, CountsQueues):
        status["queues"] = {
            consumer: await _bounded(_queue(bus, consumer)) for consumer in consumers
        }
    if extras is not None:
        status.update(await _bounded(extras()))
    return status


def install_status_route(app: Any, status: Callable[[], Awaitable[dict[str, Any]]]) -> None:
    """`GET /internal/status`, only on apps that verify internal signatures (the internal
    services): the gateway's app is public, it answers `/v1/admin/status` to administrators."""
    from modelbay_common.internal_auth import InternalAuthMiddleware

    if not isinstance(app, Starlette):
        return
    classes: list[object] = [middleware.cls for middleware in app.user_middleware]
    if InternalAuthMiddleware not in classes:
        return

    async def answer(_: Request) -> Response:
        return JSONResponse(await status())

    app.add_route(STATUS_PATH, answer, methods=["GET"], include_in_schema=False)
