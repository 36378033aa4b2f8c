"""The gateway's event consumer: every lifecycle event goes to the SSE fan-out (`hub.deliver`).

The gateway keeps no state of its own about events (no inbox): the hub deduplicates redeliveries
by event id in its replay buffer, and a missed event only costs a live subscriber one update.
"""

from __future__ import annotations

# Every event about a model: the routing keys are the event types, `modelbay.model.<...>.v1`.
# The queue is the gateway's own (`consumer_name`, one per replica): main.py binds it to these
# and hands each event to `EventHub.deliver`.
EVERY_MODEL_EVENT = ("modelbay.model.#",)
