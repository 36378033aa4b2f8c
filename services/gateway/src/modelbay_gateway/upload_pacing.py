"""A push whose body arrives too slowly is cut off with 408 (issue 11, defect 3).

The gateway relays a push's body to onboarding as it arrives, so each push in flight holds one
connection of the pool to onboarding. 100 clients sending a byte every two seconds held the whole
pool, and a legitimate push failed with 503 after 60 s. `PacedBody` bounds the time a client may
hold that connection:

- no byte for `UPLOAD_IDLE_TIMEOUT_SECONDS` → 408;
- once that long has passed, an average below `UPLOAD_MIN_BYTES_PER_SECOND` since the first
  byte was awaited → 408 (a byte every two seconds is 0.5 B/s).

Either way the relay to onboarding is aborted, which closes its upstream connection and frees
the pool slot; onboarding sees a client disconnect and stores nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import ClassVar

from modelbay_common.errors import ModelbayError


class RequestBodyTooSlow(ModelbayError):
    status: ClassVar[int] = 408
    title: ClassVar[str] = "Request body too slow"
    type_slug: ClassVar[str] = "request-body-too-slow"


class PacedBody:
    """Wraps a request body; raises RequestBodyTooSlow when the client stalls or trickles."""

    def __init__(
        self,
        source: AsyncIterable[bytes],
        *,
        idle_timeout: float,
        min_bytes_per_second: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._idle_timeout = idle_timeout
        self._min_rate = min_bytes_per_second
        self._clock = clock
        self.too_slow: RequestBodyTooSlow | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = aiter(self._source)
        started = self._clock()
        received = 0
        while True:
            try:
                chunk = await asyncio.wait_for(anext(chunks), timeout=self._idle_timeout)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise self._refuse(
                    f"no byte of the body arrived for {self._idle_timeout:g} s"
                ) from None
            received += len(chunk)
            elapsed = self._clock() - started
            if elapsed > self._idle_timeout and received < self._min_rate * elapsed:
                raise self._refuse(
                    f"the body arrives at {received / elapsed:.1f} bytes/s, below the "
                    f"{self._min_rate:g} bytes/s this server requires"
                )
            yield chunk

    def _refuse(self, why: str) -> RequestBodyTooSlow:
        self.too_slow = RequestBodyTooSlow(
            f"{why}; the push was cut off so it does not hold a connection others need. "
            "Retry on a faster connection.",
            extensions={"min_bytes_per_second": self._min_rate},
        )
        return self.too_slow
