"""The HTTP server every service runs under: uvicorn's h11 protocol with a deadline on headers.

uvicorn bounds an idle keep-alive connection (`timeout_keep_alive`) and the size of an
incomplete request head (`h11_max_incomplete_event_size`), but not the *time* a client may take
to send its request head: a connection that never sends one, or sends a byte of it now and then
(slowloris), was held for ever (issue 11, defect 3). `HeaderDeadlineH11Protocol` closes a
connection whose next request head is not complete `header_timeout` seconds after the
connection was made or after the previous response completed. Request *bodies* are the
application's to pace (the gateway's push relay: `modelbay_gateway.upload_pacing`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_REQUEST_HEAD_BYTES = 64 * 1024
"""Request line and headers together (h11's incomplete-event limit); a larger head is a 400."""


class HeaderDeadlineH11Protocol(H11Protocol):
    """H11Protocol that closes connections whose request head does not arrive in time."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def handle_events(self) -> None:
        cycle_before = self.cycle
        super().handle_events()
        if self.cycle is not cycle_before:  # a new request head arrived whole
            self._disarm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm_head_deadline()  # the next request's head has the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served: its body and answer are not this timer's
        if self.conn.our_state not in (h11.ERROR, h11.CLOSED):
            with contextlib.suppress(h11.LocalProtocolError):
                self.conn.send(h11.ConnectionClosed())
        self.transport.close()


def protocol_with_header_timeout(seconds: float) -> type[HeaderDeadlineH11Protocol]:
    """The protocol class for `uvicorn.Config(http=...)` with this head deadline."""
    return type(
        "HeaderDeadlineH11Protocol", (HeaderDeadlineH11Protocol,), {"header_timeout": seconds}
    )


def server_config(
    app: Any, *, host: str, port: int, header_timeout: float, keep_alive: float
) -> Any:
    """The `uvicorn.Config` every service runs with (the server-side timeouts in one place)."""
    import uvicorn  # only process entrypoints need the server

    from modelbay_common.shutdown import SHUTDOWN_GRACE_SECONDS

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_with_header_timeout(header_timeout),
        timeout_keep_alive=int(max(1, keep_alive)),
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        log_config=None,  # keep Modelbay's JSON logging, configured by run_service
        lifespan="off",  # start/stop are the service host's, around serve()
        # Open connections (an SSE stream never ends by itself) must not hold up a SIGTERM.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
