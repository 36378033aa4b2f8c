"""What the composition root adds for mirroring: the consumer of its queue and its clients.

Two HTTP clients: one to this instance's catalog (every call signed with the internal secret;
the embedded mode passes the catalog's in-process transport), one to peers' gateways and
registries (bounded by `mirror_timeout_seconds`, redirects followed for registries that hand
blobs out from object storage). Both are closed when the service stops.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from modelbay_common.blob import BlobStore
from modelbay_common.bus.port import Handler
from modelbay_common.db import SessionFactory
from modelbay_common.internal_auth import InternalAuth
from modelbay_common.serving import Step

from modelbay_builder.debris import builds_directory
from modelbay_builder.mirror.copy import LocalRegistry, Mirrorer
from modelbay_builder.mirror.handlers import MIRROR_EVENT_TYPES, mirror_requested_handler
from modelbay_builder.mirror.origin import CatalogPeerCredentials
from modelbay_builder.registry import RegistryCredentials
from modelbay_builder.settings import BuilderSettings

CATALOG_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class MirrorConsumer:
    name: str
    event_types: tuple[str, ...]
    handler: Handler
    closing: Step  # closes the two clients
    mirrorer: Mirrorer


def mirror_consumer(
    settings: BuilderSettings,
    sessions: SessionFactory,
    blob_store: BlobStore,
    *,
    catalog_transport: httpx.AsyncBaseTransport | None = None,
) -> MirrorConsumer:
    catalog = httpx.AsyncClient(
        base_url=settings.catalog_url,
        auth=InternalAuth(settings.internal_secret),
        transport=catalog_transport,
        timeout=CATALOG_TIMEOUT_SECONDS,
    )
    peers = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.mirror_timeout_seconds, connect=10.0),
        follow_redirects=True,
    )
    local = LocalRegistry(
        address=settings.registry,
        credentials=RegistryCredentials(settings.registry_tokens()),
        scheme="http" if settings.registry_insecure else "https",
        signing_key=settings.signing_key(),
    )
    mirrorer = Mirrorer(
        credentials=CatalogPeerCredentials(catalog),
        http=peers,
        blob_store=blob_store,
        local=local,
        scratch_dir=builds_directory(settings.work_dir),
        max_artifact_bytes=settings.mirror_max_artifact_bytes,
    )

    async def close() -> None:
        await catalog.aclose()
        await peers.aclose()

    name = settings.mirror_consumer_name
    handler = mirror_requested_handler(name, sessions, mirrorer)
    return MirrorConsumer(name, MIRROR_EVENT_TYPES, handler, Step(on_stop=close), mirrorer)
