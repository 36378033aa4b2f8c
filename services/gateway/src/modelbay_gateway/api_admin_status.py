"""The operator's view: `GET /v1/admin/status` (`modelbay admin status`), administrators only.

One answer with every service's status (`modelbay_common.host_status`): live and ready and why
not, outbox backlog and the age of its oldest event, each consumer's queue and dead-letter
depth, the builder's builds in flight and its oldest stuck build with the reason; and a summary
an operator reads first. The gateway asks each internal service's `GET /internal/status` (signed,
at the same time) and adds its own; a service that does not answer is reported as such, not
as an error of the whole view.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from modelbay_common.host_status import STATUS_PATH

from modelbay_gateway.auth import SignedIn
from modelbay_gateway.context import ContextDep, GatewayContext
from modelbay_gateway.errors import AdminRequired
from modelbay_gateway.upstream import BUILDER, CATALOG, ONBOARDING

router = APIRouter(prefix="/v1/admin", tags=["admin"])

INTERNAL_SERVICES = (ONBOARDING, BUILDER, CATALOG)


async def _internal_status(context: GatewayContext, service: str) -> dict[str, Any]:
    try:
        response = await context.upstreams.request(service, "GET", STATUS_PATH, None)
    except Exception as exc:  # unreachable: that is the news, not an error of this view
        return _unreachable(service, f"{type(exc).__name__}: {exc}")
    if response.status_code != 200:
        return _unreachable(service, f"{STATUS_PATH} answered {response.status_code}")
    answer: dict[str, Any] = response.json()
    return answer


def _unreachable(service: str, why: str) -> dict[str, Any]:
    return {"service": service, "live": False, "ready": False, "problems": {"reachable": why}}


def _summary(services: list[dict[str, Any]]) -> dict[str, Any]:
    def total(pick: Callable[[dict[str, Any]], Any]) -> int:
        found = 0
        for status in services:
            value = pick(status)
            found += value if isinstance(value, int) else 0
        return found

    queues = [q for s in services for q in (s.get("queues") or {}).values() if "error" not in q]
    in_flight: dict[str, Any] = next(
        (s["builds_in_flight"] for s in services if "builds_in_flight" in s), {}
    )
    stuck = next((s["oldest_stuck"] for s in services if s.get("oldest_stuck")), None)
    return {
        "all_live": all(s.get("live") for s in services),
        "all_ready": all(s.get("ready") for s in services),
        "not_ready": [s["service"] for s in services if not s.get("ready")],
        "outbox_backlog": total(lambda s: (s.get("outbox") or {}).get("backlog")),
        "oldest_outbox_age_seconds": max(
            ((s.get("outbox") or {}).get("oldest_age_seconds") or 0 for s in services),
            default=0,
        ),
        "queued_messages": sum(int(q.get("messages", 0)) for q in queues),
        "dead_letters": sum(int(q.get("dead_letters", 0)) for q in queues),
        "builds_in_flight": sum(v for v in in_flight.values() if isinstance(v, int)),
        "oldest_stuck": stuck,
    }


@router.get("/status", summary="Every service's health, queues, outboxes and stuck work")
async def platform_status(
    principal: SignedIn, context: ContextDep, request: Request
) -> dict[str, Any]:
    """What an operator checks first; each figure is read now (docs/operations.md)."""
    if not principal.user.is_admin:
        raise AdminRequired("read the platform's status")
    own: Callable[[], Awaitable[dict[str, Any]]] | None = getattr(
        request.app.state, "service_status", None
    )
    reads = [_internal_status(context, service) for service in INTERNAL_SERVICES]
    answers = await asyncio.gather(*reads)
    gateway = await own() if own is not None else _unreachable("gateway", "not started")
    services = [gateway, *answers]
    return {"summary": _summary(services), "services": services}
