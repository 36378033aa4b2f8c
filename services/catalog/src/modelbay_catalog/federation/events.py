"""Federation's way to write an event: in the catalog's outbox, in the caller's transaction."""

from __future__ import annotations

from modelbay_common.outbox import EventEmitter

from modelbay_catalog.orm import SCHEMA
from modelbay_catalog.settings import EVENT_SOURCE

emit = EventEmitter(source=EVENT_SOURCE, schema=SCHEMA)
