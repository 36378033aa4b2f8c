"""The event bus: the port and its adapters.

`create_bus(settings.bus_url)` picks the adapter. `RabbitMqBus` lives in
`modelbay_common.bus.rabbitmq` and is imported from there, so that the embedded mode and unit
tests using `InProcessBus` do not load aio-pika.
"""

from modelbay_common.bus.factory import create_bus
from modelbay_common.bus.inprocess import InProcessBus
from modelbay_common.bus.port import (
    EVENTS_EXCHANGE,
    Bus,
    BusNotStartedError,
    DeadLetter,
    DeadLetterAdmin,
    Handler,
    RetryPolicy,
    routing_key_matches,
)

__all__ = [
    "EVENTS_EXCHANGE",
    "Bus",
    "BusNotStartedError",
    "DeadLetter",
    "DeadLetterAdmin",
    "Handler",
    "InProcessBus",
    "RetryPolicy",
    "create_bus",
    "routing_key_matches",
]
