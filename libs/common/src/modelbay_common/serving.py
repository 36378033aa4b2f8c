"""Running one service as its own process: `python -m modelbay_<service>`.

Every service's composition root returns an object with an ASGI `app` and `start`/`stop`
coroutines (migrations, bus subscriptions, outbox relay, workers). The process entrypoint is
the same for all four, so it lives here: start the service, serve its app with uvicorn until
a signal arrives, then stop the service whatever happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from modelbay_common.logging import configure_logging
from modelbay_common.settings import ServiceSettings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


class RunnableService(Protocol):
    """What a service's `build_service(settings)` returns."""

    @property
    def app(self) -> Any: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def serve(service: RunnableService, settings: ServiceSettings) -> None:
    """Start `service`, serve its app on the configured host and port, then stop it."""
    import uvicorn  # only process entrypoints need the server, not embedded compositions

    await service.start()
    try:
        config = uvicorn.Config(
            service.app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,  # keep Modelbay's JSON logging, configured by run_service
            lifespan="off",  # start/stop are ours, around serve()
        )
        await uvicorn.Server(config).serve()
    finally:
        await service.stop()


def run_service(
    load_settings: Callable[[], SettingsT],
    build_service: Callable[[SettingsT], RunnableService],
) -> None:
    """The body of every `python -m modelbay_<service>`: configuration from the environment."""
    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    asyncio.run(serve(build_service(settings), settings))
