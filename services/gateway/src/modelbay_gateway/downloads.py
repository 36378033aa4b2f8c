"""Use case: download a version's artifacts, after the catalog confirmed the caller may see it.

The kinds are `modelbay_common.artifacts.ArtifactKind`. Blob artifacts (bundle, proto, OpenAPI,
SBOM) stream from the blob store by the shared keys (`modelbay_common.blob.keys`). The stored
SHA-256 is compared with the catalog's record before the first byte is sent, and the blob store
re-checks it while streaming (a mismatch then cuts the connection, so a client never receives a
complete-looking corrupt file). The image tarball streams from the
builder. Each download is counted in the catalog.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob import BlobInfo, BlobNotFoundError, BlobStore, CorruptBlobError
from modelbay_common.blob.keys import (
    bundle_key,
    image_tarball_path,
    openapi_key,
    proto_key,
    sbom_key,
)
from modelbay_common.contracts.catalog import VersionDetail

from modelbay_gateway.errors import ArtifactNotAvailable, CorruptArtifact
from modelbay_gateway.service_models import get_version, record_download
from modelbay_gateway.upstream import BUILDER, Caller, Upstreams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    kind: ArtifactKind
    key: str
    filename: str
    media_type: str
    expected_sha256: str | None = None


@dataclass(frozen=True)
class Download:
    """What a route needs to answer: the body stream and the headers that describe it."""

    body: AsyncIterator[bytes]
    media_type: str
    headers: dict[str, str]
    close: AsyncExitStack | None = None


def _is_key(value: str | None) -> bool:
    return bool(value) and "://" not in str(value)


def blob_artifact(kind: ArtifactKind | str, detail: VersionDetail) -> Artifact | None:
    """Where `kind` of the version the catalog described is stored; None when the catalog has
    not recorded it yet. Keys the catalog gives win; otherwise the shared layouts of
    `modelbay_common.blob.keys`."""
    kind = ArtifactKind(kind)
    if not kind.in_blob_store:
        raise ValueError(f"the {kind} is not a blob: it is streamed by the builder")
    key, expected_sha256 = _stored_key(kind, detail)
    if key is None:
        return None
    filename = kind.filename(detail.owner, detail.name, detail.version)
    return Artifact(kind, key, filename, kind.media_type, expected_sha256)


def _stored_key(kind: ArtifactKind, detail: VersionDetail) -> tuple[str | None, str | None]:
    """The blob key of `kind` and, for the bundle, the SHA-256 the catalog recorded."""
    owner, name, version = detail.owner, detail.name, detail.version
    if kind is ArtifactKind.BUNDLE:
        bundle = detail.bundle
        if bundle is None:
            return None, None
        if _is_key(bundle.uri):
            return bundle.uri, bundle.sha256
        return (bundle_key(bundle.sha256), bundle.sha256) if bundle.sha256 else (None, None)
    if kind is ArtifactKind.PROTO:
        return detail.interface.proto_key or proto_key(owner, name, version), None
    if kind is ArtifactKind.OPENAPI:
        return detail.interface.openapi_key or openapi_key(owner, name, version), None
    if kind is ArtifactKind.PROVENANCE:
        recorded = detail.image.provenance_uri if detail.image else None
        if recorded is None or not _is_key(recorded):
            return None, None  # the builder signs nothing without a key: nothing to serve
        return recorded, detail.image.provenance_sha256 if detail.image else None
    sbom_uri = detail.image.sbom_uri if detail.image else None
    return (sbom_uri if sbom_uri and _is_key(sbom_uri) else sbom_key(owner, name, version)), None


def _digest_headers(info: BlobInfo) -> dict[str, str]:
    digest = base64.b64encode(bytes.fromhex(info.sha256)).decode()
    return {
        "Content-Length": str(info.size),
        # RFC 9530: lets a client verify the bytes it received.
        "Repr-Digest": f"sha-256=:{digest}:",
        "ETag": f'"sha256:{info.sha256}"',
    }


async def _stat_or_none(blob_store: BlobStore, key: str) -> BlobInfo | None:
    try:
        return await blob_store.stat(key)
    except BlobNotFoundError:
        return None


async def _verified(blob_store: BlobStore, key: str) -> AsyncIterator[bytes]:
    try:
        async for chunk in blob_store.open(key):
            yield chunk
    except CorruptBlobError:
        log.error("blob %s failed its SHA-256 check while streaming; connection cut", key)
        raise


async def open_blob_download(
    blob_store: BlobStore,
    upstreams: Upstreams,
    caller: Caller,
    owner: str,
    name: str,
    version: int,
    kind: ArtifactKind | str,
) -> Download:
    kind = ArtifactKind(kind)
    detail = await get_version(upstreams, caller, owner, name, version)
    artifact = blob_artifact(kind, detail)
    info = None if artifact is None else await _stat_or_none(blob_store, artifact.key)
    if artifact is None or info is None:
        why = (
            "the SBOM is written when the image is built"
            if kind is ArtifactKind.SBOM
            else "the provenance is written when the image is built and signed"
            if kind is ArtifactKind.PROVENANCE
            else "it is not in the blob store"
        )
        raise ArtifactNotAvailable(kind, owner, name, version, why)
    if artifact.expected_sha256 and info.sha256 != artifact.expected_sha256:
        log.error(
            "blob %s has sha256 %s, the catalog recorded %s",
            artifact.key,
            info.sha256,
            artifact.expected_sha256,
        )
        raise CorruptArtifact(f"The stored {kind} does not match its recorded SHA-256.")
    await record_download(upstreams, caller, owner, name, version, kind)
    headers = {
        **_digest_headers(info),
        "Content-Disposition": f'attachment; filename="{artifact.filename}"',
    }
    return Download(_verified(blob_store, artifact.key), artifact.media_type, headers)


async def open_image_download(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int
) -> Download:
    """`docker save` of the version's image, streamed from the builder (`docker load` reads it)."""
    detail = await get_version(upstreams, caller, owner, name, version)
    status = detail.status
    if status != "ready":
        why = f"its status is {status!r}; the image can be downloaded once it is 'ready'"
        raise ArtifactNotAvailable(ArtifactKind.IMAGE, owner, name, version, why)
    close = AsyncExitStack()
    path = image_tarball_path(owner, name, version)
    response = await close.enter_async_context(upstreams.stream(BUILDER, "GET", path, caller))
    try:
        await record_download(upstreams, caller, owner, name, version, ArtifactKind.IMAGE)
    except BaseException:
        await close.aclose()
        raise
    filename = ArtifactKind.IMAGE.filename(owner, name, version)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if "content-length" in response.headers:
        headers["Content-Length"] = response.headers["content-length"]

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        finally:
            await close.aclose()

    return Download(body(), ArtifactKind.IMAGE.media_type, headers, close)
