"""Graceful shutdown on SIGTERM (what `docker stop`, systemd and Kubernetes send).

uvicorn catches SIGINT and SIGTERM, stops accepting connections and finishes in-flight requests,
then *re-raises* the signal it caught with the previous handler restored. For SIGINT that is a
KeyboardInterrupt, and the `finally` that stops the service host runs; for SIGTERM the previous
handler is the default one, and the process dies right there: the host never stops (builds not
handed back, the embedded PostgreSQL left running as an orphan postmaster, exit status 143).

`GracefulServer` is uvicorn's server without that re-raise: `serve()` simply returns once the
server has shut down, the caller's `finally` stops the host, and the process exits 0. A second
signal during that stop takes the default action (a forced stop, as an operator expects).
`SHUTDOWN_GRACE_SECONDS` bounds how long open connections (a server-sent event stream never
ends by itself) may hold up the shutdown.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

__all__ = ["HANDLED_SIGNALS", "SHUTDOWN_GRACE_SECONDS", "GracefulServer"]

SHUTDOWN_GRACE_SECONDS = 10
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulServer(uvicorn.Server):
    """A uvicorn server whose `serve()` returns after SIGINT/SIGTERM instead of re-raising."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach only the main thread; whoever runs us there handles them
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
