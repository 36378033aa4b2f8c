"""Use case: download a version's artifacts, after the catalog confirmed the caller may see it.

Blob artifacts (bundle, proto, OpenAPI, SBOM) stream from the blob store by the keys of
docs/pipeline.md. The stored SHA-256 is compared with the catalog's record before the first byte
is sent, and the blob store re-checks it while streaming (a mismatch then cuts the connection,
so a client never receives a complete-looking corrupt file). The image tarball streams from the
builder. Each download is counted in the catalog.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Literal

from modelbay_common.blob import BlobInfo, BlobNotFoundError, BlobStore, CorruptBlobError

from modelbay_gateway.errors import ArtifactNotAvailable, CorruptArtifact
from modelbay_gateway.service_models import get_version, record_download
from modelbay_gateway.upstream import BUILDER, Caller, Upstreams, model_path

log = logging.getLogger(__name__)

BlobKind = Literal["bundle", "proto", "openapi", "sbom"]
BLOB_KINDS: tuple[BlobKind, ...] = ("bundle", "proto", "openapi", "sbom")


@dataclass(frozen=True)
class Artifact:
    kind: str
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


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "://" not in value


def blob_artifact(kind: BlobKind, detail: dict[str, Any]) -> Artifact:
    """Where `kind` of the version described by the catalog's `detail` is stored."""
    owner, name, version = detail["owner"], detail["name"], int(detail["version"])
    interface_prefix = f"interfaces/{owner}/{name}/{version}"
    interface = _mapping(detail.get("interface"))
    if kind == "bundle":
        bundle = _mapping(detail.get("bundle"))
        sha256 = bundle.get("sha256")
        key = bundle.get("uri") if _is_key(bundle.get("uri")) else f"bundles/sha256/{sha256}.tar.gz"
        return Artifact(
            kind, str(key), f"{owner}-{name}-{version}.tar.gz", "application/gzip", sha256
        )
    if kind == "proto":
        key = interface.get("proto_key") or f"{interface_prefix}/model.proto"
        return Artifact(kind, str(key), f"{name}-{version}.proto", "text/plain; charset=utf-8")
    if kind == "openapi":
        key = interface.get("openapi_key") or f"{interface_prefix}/openapi.json"
        return Artifact(kind, str(key), f"{name}-{version}.openapi.json", "application/json")
    sbom_uri = _mapping(detail.get("image")).get("sbom_uri")
    key = sbom_uri if _is_key(sbom_uri) else f"sboms/{owner}/{name}/{version}.cdx.json"
    return Artifact(kind, str(key), f"{name}-{version}.cdx.json", "application/vnd.cyclonedx+json")


def _digest_headers(info: BlobInfo) -> dict[str, str]:
    digest = base64.b64encode(bytes.fromhex(info.sha256)).decode()
    return {
        "Content-Length": str(info.size),
        # RFC 9530: lets a client verify the bytes it received.
        "Repr-Digest": f"sha-256=:{digest}:",
        "ETag": f'"sha256:{info.sha256}"',
    }


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
    kind: BlobKind,
) -> Download:
    detail = await get_version(upstreams, caller, owner, name, version)
    artifact = blob_artifact(kind, detail)
    try:
        info = await blob_store.stat(artifact.key)
    except BlobNotFoundError:
        why = (
            "the SBOM is written when the image is built"
            if kind == "sbom"
            else "it is not in the blob store"
        )
        raise ArtifactNotAvailable(kind, owner, name, version, why) from None
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
    status = detail.get("status")
    if status != "ready":
        why = f"its status is {status!r}; the image can be downloaded once it is 'ready'"
        raise ArtifactNotAvailable("image", owner, name, version, why)
    close = AsyncExitStack()
    path = f"/internal/images/{model_path(owner, name)}/{version}/tarball"
    response = await close.enter_async_context(upstreams.stream(BUILDER, "GET", path, caller))
    try:
        await record_download(upstreams, caller, owner, name, version, "image")
    except BaseException:
        await close.aclose()
        raise
    headers = {"Content-Disposition": f'attachment; filename="{owner}-{name}-{version}.tar"'}
    if "content-length" in response.headers:
        headers["Content-Length"] = response.headers["content-length"]

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        finally:
            await close.aclose()

    return Download(body(), "application/x-tar", headers, close)
