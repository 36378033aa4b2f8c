"""Settings of the catalog service, read from the environment.

Every field can be set with ``MODELBAY_CATALOG_<FIELD>`` or, shared by all services, with
``MODELBAY_<FIELD>`` (the service's own name wins):

- ``DATABASE_URL`` (required): Postgres, e.g. ``postgresql+asyncpg://u:p@127.0.0.1:5432/modelbay``;
  the catalog owns the ``catalog`` schema and migrates it at start-up.
- ``BUS_URL`` (required): ``amqp://user:pass@127.0.0.1:5672/`` (RabbitMQ) or ``memory://``.
- ``BLOB_URL``: not used by the catalog (it stores no objects); accepted for uniformity.
- ``HTTP_HOST`` / ``HTTP_PORT``: where ``python -m modelbay_catalog`` listens (127.0.0.1:8003).
- ``LOG_LEVEL`` / ``LOG_JSON``: logging.
- ``CONSUMER_NAME``: the queue of lifecycle events (``catalog.versions``); replicas share it.
- ``EVENTS_EXCHANGE``: the topic exchange (``modelbay.events``).
- ``SEARCH_DEFAULT_LIMIT`` / ``SEARCH_MAX_LIMIT``: page sizes of ``GET /internal/models``.
- ``OUTBOX_POLL_SECONDS``: how often the outbox relay looks for rows when no NOTIFY woke it.
"""

from __future__ import annotations

from modelbay_common.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

SERVICE_NAME = "catalog"
EVENT_SOURCE = "/modelbay/catalog"


class CatalogSettings(ServiceSettings):
    """Configuration of the catalog; see the module docstring for the variable names."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_CATALOG_", extra="ignore")

    # The catalog keeps no blobs: a default keeps `python -m modelbay_catalog` free of a
    # variable it would never use.
    blob_url: str = Field(default="file:///var/lib/modelbay/blobs", repr=False)
    http_port: int = 8003
    consumer_name: str = "catalog.versions"
    events_exchange: str = "modelbay.events"
    search_default_limit: int = Field(default=20, ge=1, le=1000)
    search_max_limit: int = Field(default=100, ge=1, le=1000)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
