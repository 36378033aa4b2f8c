"""Pick the bus adapter from the configured URL (settings field `bus_url`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from modelbay_common.bus.port import EVENTS_EXCHANGE, Bus, RetryPolicy

__all__ = ["create_bus"]


def create_bus(
    url: str,
    *,
    exchange: str = EVENTS_EXCHANGE,
    retry: RetryPolicy | None = None,
    prefetch: int = 16,
    connection_name: str = "modelbay",
) -> Bus:
    """`memory://` gives the in-process bus; `amqp://` or `amqps://` the RabbitMQ adapter."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from modelbay_common.bus.inprocess import InProcessBus

        return InProcessBus(retry)
    if scheme in ("amqp", "amqps"):
        # Imported here so the embedded mode never loads aio-pika.
        from modelbay_common.bus.rabbitmq import RabbitMqBus

        return RabbitMqBus(
            url,
            exchange=exchange,
            retry=retry,
            prefetch=prefetch,
            connection_name=connection_name,
        )
    raise ValueError(f"unsupported bus URL scheme {scheme!r}: use memory:// or amqp://")
