"""Settings of the catalog service, read from the environment (nothing at import time).

Every field can be set with ``MODELBAY_CATALOG_<FIELD>`` or, shared by all services, with
``MODELBAY_<FIELD>`` (the service's own name wins). Each field's description is the
documentation: the table in docs/services.md is generated from it by
``scripts/gen_settings_docs.py``.
"""

from __future__ import annotations

from typing import Literal

from modelbay_common.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

SERVICE_NAME = "catalog"
EVENT_SOURCE = "/modelbay/catalog"


class CatalogSettings(ServiceSettings):
    """Configuration of the catalog; docs/services.md lists the variables."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_CATALOG_", extra="ignore")

    # The catalog keeps no blobs: a default keeps `python -m modelbay_catalog` free of a
    # variable it would never use.
    blob_url: str = Field(
        default="file:///var/lib/modelbay/blobs",
        repr=False,
        description="Not used: the catalog stores no objects; accepted for uniformity",
    )
    http_port: int = Field(default=8003, description="Port `python -m modelbay_catalog` listens on")
    consumer_name: str = Field(
        default="catalog.versions",
        description="Queue of the lifecycle events the catalog consumes; replicas share it",
    )
    search_default_limit: int = Field(
        default=20, ge=1, le=1000, description="Page size of `GET /internal/models` by default"
    )
    search_max_limit: int = Field(
        default=100, ge=1, le=1000, description="Largest page `GET /internal/models` returns"
    )
    outbox_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the outbox relay looks when no NOTIFY woke it"
    )
    publish_approval: Literal["required", "off"] = Field(
        default="off",
        description="`required`: a publication to `public` becomes a request that a publisher "
        "(or an administrator) other than the model's owners approves or declines",
    )
    publish_approval_owners: list[str] = Field(
        default_factory=list,
        description='Owners (users or organisations; a JSON list, e.g. `["acme"]`) whose '
        "publications to `public` need a publisher's approval even when `publish_approval` is "
        "`off`: e.g. the organisations whose name a public model carries for the company",
    )
    mirror_consumer_name: str = Field(
        default="catalog.mirrors",
        description="Queue of the builder's answers to `MirrorRequested` (federation); replicas "
        "share it",
    )
    federation_sync_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How often each peer's changes feed is read after a successful sync "
        "(docs/federation.md)",
    )
    federation_retry_base_seconds: float = Field(
        default=30.0,
        gt=0,
        description="First wait after a failed sync or a retryable failed mirror; doubles with "
        "each failure in a row (jittered)",
    )
    federation_retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest wait between attempts at an unreachable peer"
    )
    federation_poll_seconds: float = Field(
        default=5.0, gt=0, description="How often the sync loop looks for a peer that is due"
    )
    federation_page_limit: int = Field(
        default=100, ge=1, le=500, description="Entries asked per page of a peer's changes feed"
    )
    federation_http_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Timeout of each call to a peer's gateway"
    )
    federation_sync_enabled: bool = Field(
        default=True,
        description="Run the periodic sync loop; `false` leaves only the admin's sync now",
    )
    lean_reads: bool = Field(
        default=True,
        description=(
            "Answer the search and the model page on the lean path (fast_reads.py, the same "
            "answers at a fraction of the CPU); `false`: every request goes through FastAPI"
        ),
    )

    def publish_approval_required(self, owner: str) -> bool:
        """Whether a publication of `owner`'s model to `public` waits for a publisher."""
        return self.publish_approval == "required" or owner in self.publish_approval_owners
