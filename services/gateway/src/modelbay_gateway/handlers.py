"""The gateway's event consumer: every lifecycle event goes to the SSE fan-out.

The gateway keeps no state of its own about events (no inbox): the hub deduplicates redeliveries
by event id in its replay buffer, and a missed event only costs a live subscriber one update.
"""

from __future__ import annotations

from modelbay_common.bus import Bus

from modelbay_gateway.events_hub import EventHub

# Every event about a model: the routing keys are the event types, `modelbay.model.<...>.v1`.
EVERY_MODEL_EVENT = ("modelbay.model.#",)


async def subscribe_event_fan_out(bus: Bus, consumer_name: str, hub: EventHub) -> None:
    """Bind the gateway's own queue (one per replica) to every model event, handled by the hub."""
    await bus.subscribe(consumer_name, EVERY_MODEL_EVENT, hub.deliver)
