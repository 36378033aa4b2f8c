"""Health that tells the truth, for every service the host runs (docs/operations.md).

Kubernetes semantics:

- **liveness** (`/healthz`): restarting the process would help. Fails when a background task the
  service depends on has died: the outbox relay's loop, or the bus's consumers (an in-process
  worker task ended; a RabbitMQ consumer was cancelled and not restored); or is wedged: the
  relay's batch or an event handler has run past its deadline (`HandlersInFlight`). A broker or
  database outage is *not* a liveness failure: a restart cannot fix it, and the clients reconnect.
- **readiness** (`/readyz`): send work here now. Fails while the database does not answer a
  query within `READINESS_TIMEOUT_SECONDS`, or the broker connection is down; it recovers by
  itself when they come back (nothing is cached between probes).

Both answer 200 JSON with what was checked, or 503 problem+json naming what failed. The builder
keeps its own liveness (a wedged build worker, `modelbay_builder.liveness`) and passes
`own_health_routes=True` to the host.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from modelbay_common.db import SessionFactory
from modelbay_common.errors import ProblemResponse, build_problem, problem_type_uri

__all__ = [
    "READINESS_TIMEOUT_SECONDS",
    "HandlersInFlight",
    "HostHealth",
    "Verdict",
    "install_health_routes",
]

READINESS_TIMEOUT_SECONDS = 2.0


@runtime_checkable
class ReportsLiveness(Protocol):
    """A background part that can say it has stopped (the relay, a bus)."""

    def liveness_problem(self) -> str | None: ...


@runtime_checkable
class ReportsConnection(Protocol):
    """A bus that can say whether its broker connection is up now."""

    def connection_problem(self) -> str | None: ...


class HandlersInFlight:
    """The event handlers running now and since when: a handler past its deadline is wedged.

    A wedged handler holds its delivery (and, with prefetch, the deliveries queued behind it),
    so the consumer makes no progress while work waits; restarting the process hands the
    message back to the broker, which is what liveness is for. The deadline is per host: the
    catalog's handlers take milliseconds, onboarding's resolver runs pip for minutes.
    """

    def __init__(self, deadline_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.deadline_seconds = deadline_seconds
        self._clock = clock
        self._running: dict[int, tuple[str, str, float]] = {}
        self._next = 0

    def begin(self, consumer: str, event: str) -> int:
        self._next += 1
        self._running[self._next] = (consumer, event, self._clock())
        return self._next

    def end(self, token: int) -> None:
        self._running.pop(token, None)

    def liveness_problem(self) -> str | None:
        now = self._clock()
        late = [
            f"{consumer} has run {event} for {now - since:.0f} s "
            f"(deadline {self.deadline_seconds:g} s)"
            for consumer, event, since in self._running.values()
            if now - since > self.deadline_seconds
        ]
        return "; ".join(late) or None


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> dict[str, str]:
        return {name: result for name, result in self.checks.items() if result != "ok"}


@dataclass
class HostHealth:
    """Liveness and readiness of one service's host, computed fresh on each probe."""

    service: str
    sessions: SessionFactory
    bus: object
    relay: object | None
    started: bool = False
    handlers: HandlersInFlight | None = None

    def liveness(self) -> Verdict:
        checks: dict[str, str] = {}
        if not self.started:
            checks["host"] = "not started (or stopping)"
        parts = (
            ("bus consumers", self.bus),
            ("event handlers", self.handlers),
            ("outbox relay", self.relay),
        )
        for name, part in parts:
            if isinstance(part, ReportsLiveness):
                checks[name] = part.liveness_problem() or "ok"
        return Verdict(all(result == "ok" for result in checks.values()), checks)

    async def readiness(self) -> Verdict:
        checks = {"database": await self._database()}
        if isinstance(self.bus, ReportsConnection):
            checks["broker"] = self.bus.connection_problem() or "ok"
        if not self.started:
            checks["host"] = "not started (or stopping)"
        return Verdict(all(result == "ok" for result in checks.values()), checks)

    async def _database(self) -> str:
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
                async with self.sessions() as session:
                    await session.execute(text("SELECT 1"))
        except TimeoutError:
            return f"no answer within {READINESS_TIMEOUT_SECONDS:g} s"
        except Exception as exc:  # any failure to answer is "not ready", with its cause
            return f"{type(exc).__name__}: {exc}"
        return "ok"


def _answer(health: HostHealth, verdict: Verdict, path: str, slug: str, title: str) -> Response:
    body: dict[str, Any] = {"service": health.service, "checks": verdict.checks}
    if verdict.ok:
        return JSONResponse({"status": "ok" if path == "/healthz" else "ready", **body})
    detail = "; ".join(f"{name}: {result}" for name, result in verdict.failures.items())
    problem = build_problem(
        type_uri=problem_type_uri(slug),
        title=title,
        status=503,
        detail=f"{health.service}: {detail}",
        instance=path,
        extensions=body,
    )
    return ProblemResponse(problem, status_code=503)


def install_health_routes(app: Any, health: HostHealth) -> None:
    """`/healthz` and `/readyz` in front of the app's own routes (they replace older ones)."""
    if not isinstance(app, Starlette):
        return

    # Probes answer 503 themselves rather than raising: a probe every few seconds during an
    # outage must not log a traceback each time.
    async def healthz(request: Request) -> Response:
        return _answer(health, health.liveness(), "/healthz", "service-not-live", "Not live")

    async def readyz(request: Request) -> Response:
        verdict = await health.readiness()
        return _answer(health, verdict, "/readyz", "service-not-ready", "Not ready")

    routes = [
        Route("/healthz", healthz, methods=["GET"], include_in_schema=False),
        Route("/readyz", readyz, methods=["GET"], include_in_schema=False),
    ]
    app.router.routes[0:0] = routes
