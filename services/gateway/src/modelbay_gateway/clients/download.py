"""Use case: a version's client package, generated from the proto the catalog points to.

The caller's right to see the version is the catalog's answer to `get_version` (a version the
caller may not see is 404, as for every download). The proto is read from the blob store by the
same key as its download (`downloads.blob_artifact`), and generation runs protoc in a worker
thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio

from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob import BlobNotFoundError, BlobStore

from modelbay_gateway.clients.errors import ProtoDoesNotCompile
from modelbay_gateway.clients.languages import ClientLanguage
from modelbay_gateway.clients.package import GeneratedClient, generate_client
from modelbay_gateway.downloads import blob_artifact
from modelbay_gateway.errors import ArtifactNotAvailable
from modelbay_gateway.service_models import get_version
from modelbay_gateway.upstream import Caller, Upstreams

# A model's proto is a few KiB; anything near this is not an SDK interface.
MAX_PROTO_BYTES = 1024 * 1024


async def _read_proto(blob_store: BlobStore, key: str) -> str | None:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in blob_store.open(key):
            size += len(chunk)
            if size > MAX_PROTO_BYTES:
                return None
            chunks.append(chunk)
    except BlobNotFoundError:
        return None
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtoDoesNotCompile(f"model.proto is not UTF-8 text ({exc.reason})") from exc


async def client_package(
    blob_store: BlobStore,
    upstreams: Upstreams,
    caller: Caller,
    owner: str,
    name: str,
    version: int,
    language: ClientLanguage,
) -> GeneratedClient:
    detail = await get_version(upstreams, caller, owner, name, version)
    artifact = blob_artifact(ArtifactKind.PROTO, detail)
    proto = None if artifact is None else await _read_proto(blob_store, artifact.key)
    if proto is None:
        why = "its model.proto is not in the blob store, so no client can be generated"
        raise ArtifactNotAvailable(f"{language} client", owner, name, version, why)
    return await asyncio.to_thread(
        generate_client, proto, language, detail.owner, detail.name, detail.version
    )
