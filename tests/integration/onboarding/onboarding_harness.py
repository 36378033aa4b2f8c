"""The onboarding service under test, as the integration tests drive it (imported by the
tests and by conftest.py; a module of its own so imports never depend on which `conftest`
pytest loaded first)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from modelbay_common.events import Envelope
from modelbay_onboarding.main import Service
from sqlalchemy import text

USER_HEADERS = {"X-Modelbay-User": "alice", "X-Modelbay-Org": "acme"}


@dataclass
class Onboarding:
    service: Service
    client: httpx.AsyncClient
    prefix: str
    list_objects: Callable[[], list[str]]
    events: list[Envelope] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def rows(self, query: str, **params: Any) -> list[Any]:
        async with self.service.engine.connect() as connection:
            return list((await connection.execute(text(query), params)).all())

    async def upload(self, path: str, body: bytes) -> httpx.Response:
        headers = {**USER_HEADERS, "Content-Type": "application/gzip"}
        return await self.client.post(f"/internal/uploads/{path}", content=body, headers=headers)

    async def wait_for(self, event_type: str, subject: str, bound: float = 900) -> Envelope:
        """The first event of `event_type` about `subject` (`owner/name/version`); the bound
        only stops a hung test, it is not a speed requirement."""

        async def arrival() -> Envelope:
            while True:
                for candidate in self.events:
                    if candidate.type == event_type and candidate.subject == subject:
                        return candidate
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(arrival(), timeout=bound)


OnboardingFactory = Callable[..., Awaitable[Onboarding]]
