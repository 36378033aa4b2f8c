"""Failed authentications are limited per client: 429 with `Retry-After` (issue 11, defect 8).

Without a limit a client tried 47 tokens a second, each costing a database transaction. Every
place that checks a secret a client sent goes through here: the `/v1` bearer authentication
(`auth.py`), the web sign-in (`web/pages_account.py`) and the registry token endpoint
(`api_registry.py`). A client is its address as the gateway's server sees it (`request.client`;
behind a reverse proxy that is the proxy, so put the limit there too, or run one gateway per
proxy address).

The rule: at most `AUTH_FAILURE_LIMIT` failures in a sliding `AUTH_FAILURE_WINDOW_SECONDS`; a
client at the limit is refused *before* its secret is looked up (no transaction), until its
oldest failure in the window expires, which is what `Retry-After` says. Successes do not reset
the count (a stolen token must not buy more guesses). State is in memory, per process: each
gateway replica counts alone and a restart forgets, which bounds guessing to limit × replicas
per window. At most `_MAX_CLIENTS` addresses are tracked (the least recently failing are
forgotten first), so a flood of addresses cannot grow memory without bound.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, ClassVar, cast

from fastapi import Request
from modelbay_common.errors import ModelbayError

from modelbay_gateway.settings import GatewaySettings

_MAX_CLIENTS = 100_000
_UNKNOWN_CLIENT = "unknown"


class TooManyFailedAuthentications(ModelbayError):
    status: ClassVar[int] = 429
    title: ClassVar[str] = "Too many failed authentications"
    type_slug: ClassVar[str] = "too-many-failed-authentications"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed authentications from this address; try again in {retry_after} s.",
            extensions={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


class FailedAuthThrottle:
    """Sliding-window count of failed authentications per client address."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again; None when it may now."""
        failures = self._recent(client)
        if failures is None or len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[0] + self.window - self._clock()))

    def check(self, client: str) -> None:
        """Raise TooManyFailedAuthentications (429) when `client` is at its limit."""
        wait = self.retry_after(client)
        if wait is not None:
            raise TooManyFailedAuthentications(wait)

    def failed(self, client: str) -> None:
        failures = self._recent(client)
        if failures is None:
            failures = self._failures[client] = deque()
        failures.append(self._clock())
        self._failures.move_to_end(client)
        while len(self._failures) > _MAX_CLIENTS:
            self._failures.popitem(last=False)

    def _recent(self, client: str) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        horizon = self._clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures


def client_of(request: Request) -> str:
    return request.client.host if request.client else _UNKNOWN_CLIENT


def throttle_of(request: Request) -> FailedAuthThrottle:
    """The app's throttle, made on first use from the gateway's settings."""
    return throttle_of_state(request.app.state)


def throttle_of_state(state: Any) -> FailedAuthThrottle:
    """`throttle_of` for code that holds the app's `state` but no `Request` (lean_reads.py)."""
    throttle = getattr(state, "auth_throttle", None)
    if throttle is None:
        settings = cast(GatewaySettings, state.context.settings)
        throttle = FailedAuthThrottle(
            settings.auth_failure_limit, settings.auth_failure_window_seconds
        )
        state.auth_throttle = throttle
    return cast(FailedAuthThrottle, throttle)
