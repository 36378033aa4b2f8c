"""What the routes need, built once by the composition root (main.py) and handed to them."""

from __future__ import annotations

from dataclasses import dataclass

from modelbay_common.blob import BlobStore
from modelbay_common.db import SessionFactory

from modelbay_gateway.events_hub import EventHub
from modelbay_gateway.settings import GatewaySettings
from modelbay_gateway.upstream import Upstreams


@dataclass(frozen=True)
class GatewayContext:
    settings: GatewaySettings
    sessions: SessionFactory
    upstreams: Upstreams
    blob_store: BlobStore
    hub: EventHub
