"""Federation on the gateway: the admin's peers (relayed to the catalog, which owns them) and
the changes feed peers read, with each artifact's SHA-256, size and download URL added here
(the gateway is the one that serves the bytes; docs/federation.md)."""

from __future__ import annotations

from typing import Any

from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob import BlobNotFoundError, BlobStore
from modelbay_common.contracts.catalog import VersionDetail
from modelbay_common.contracts.federation import (
    ChangeEntry,
    ChangesPage,
    FeedEntry,
    FeedPage,
    MirroredArtifact,
)
from modelbay_common.refs import is_local_process_ref

from modelbay_gateway.downloads import blob_artifact
from modelbay_gateway.upstream import CATALOG, Caller, Upstreams, json_object, parsed

PEERS = "/internal/federation/peers"


def split_image_ref(image_ref: str) -> tuple[str, str] | None:
    """(registry host[:port], repository) of `host:5000/alice/iris:3` (or `...@sha256:..`);
    None for a reference without a registry host (a local process, a bare Docker Hub name)."""
    if is_local_process_ref(image_ref):
        return None
    reference = image_ref.split("@", 1)[0]
    host, _, path = reference.partition("/")
    if not path or not ("." in host or ":" in host or host == "localhost"):
        return None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path = path[: len(path) - len(last)] + last.split(":", 1)[0]
    return host, path


async def _artifacts(
    blob_store: BlobStore, base_url: str, detail: VersionDetail
) -> list[MirroredArtifact]:
    found: list[MirroredArtifact] = []
    prefix = f"{base_url}/v1/models/{detail.owner}/{detail.name}/versions/{detail.version}"
    for kind in ArtifactKind:
        if not kind.in_blob_store:
            continue  # the image travels registry to registry, by digest
        artifact = blob_artifact(kind, detail)
        if artifact is None:
            continue
        try:
            info = await blob_store.stat(artifact.key)
        except BlobNotFoundError:
            continue
        found.append(
            MirroredArtifact(
                kind=kind.value, sha256=info.sha256, size=info.size, url=f"{prefix}/{kind}"
            )
        )
    return found


async def feed_entry(blob_store: BlobStore, base_url: str, entry: ChangeEntry) -> FeedEntry:
    shown: dict[str, Any] = entry.model_dump(exclude={"detail"})
    detail = entry.detail
    if detail is None:
        return FeedEntry.model_validate(shown)
    image = detail.image
    where = split_image_ref(image.ref) if image is not None else None
    return FeedEntry.model_validate(
        {
            **shown,
            "python_version": detail.python_version,
            "requirements": detail.requirements,
            "methods": [method.model_dump() for method in detail.interface.methods],
            "uploaded_by": detail.uploaded_by,
            "registry": where[0] if where else None,
            "image_repository": where[1] if where else None,
            "image_digest": image.digest if image is not None else None,
            "artifacts": await _artifacts(blob_store, base_url, detail),
        }
    )


async def changes_feed(
    upstreams: Upstreams,
    blob_store: BlobStore,
    caller: Caller,
    base_url: str,
    after: str,
    limit: int,
) -> FeedPage:
    params = {"after": after, "limit": limit}
    response = await upstreams.request(
        CATALOG, "GET", "/internal/federation/changes", caller, params=params
    )
    page = parsed(response, CATALOG, ChangesPage)
    entries = [await feed_entry(blob_store, base_url, entry) for entry in page.entries]
    return FeedPage(entries=entries, next_cursor=page.next_cursor, has_more=page.has_more)


async def relay(
    upstreams: Upstreams, caller: Caller, method: str, path: str, body: Any = None
) -> dict[str, Any]:
    """One admin call relayed to the catalog; its problems (403, 404, 409, 424) pass unchanged."""
    options: dict[str, Any] = {} if body is None else {"json": body}
    response = await upstreams.request(CATALOG, method, path, caller, **options)
    if response.status_code == 204:
        return {}
    return json_object(response, CATALOG)
