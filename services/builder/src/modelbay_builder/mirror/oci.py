"""One repository of an OCI registry, spoken to with plain distribution-spec calls over httpx.

Only what a registry-to-registry copy by digest needs (OCI distribution spec v1.1, which
Distribution 2.8 implements): a manifest by digest or tag (GET, PUT), whether a blob is there
(HEAD), a blob's bytes (GET, streamed) and a monolithic upload (POST a session, then PUT the
bytes with `?digest=`: the destination registry recomputes the digest and refuses a mismatch).

Every answer that is not a success becomes a `MirrorFailure` naming the registry and the call;
unreachable registries and 5xx are retryable, and so is 401: a pull token that expired during a
long copy (the origin's last five minutes) or a push token this instance could not mint; the
rest is not (`errors.registry_failure`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from modelbay_builder.mirror.errors import MirrorFailure, refused, registry_failure, unavailable

MANIFEST_MEDIA_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
INDEX_MEDIA_TYPES = frozenset(MANIFEST_MEDIA_TYPES[2:])
STREAM_CHUNK_BYTES = 1024 * 1024


def registry_scheme(registry: str) -> str:
    """Plain HTTP for loopback registries (what Docker does without configuration), else TLS."""
    host = registry.rsplit(":", 1)[0].strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return "http" if loopback else "https"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    content: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return sha256_digest(self.content)


class Repository:
    """`registry/repository` with one bearer token (None: an open registry)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        registry: str,
        repository: str,
        token: str | None,
        *,
        scheme: str | None = None,
    ) -> None:
        self.registry = registry
        self.repository = repository
        self._client = client
        self._base = f"{scheme or registry_scheme(registry)}://{registry}/v2/{repository}"
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.name = f"the registry {registry} ({repository})"

    async def _request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
    ) -> httpx.Response:
        try:
            return await self._client.request(
                method, url, headers={**self._auth, **(headers or {})}, content=content
            )
        except httpx.HTTPError as exc:
            raise unavailable(f"{self.name} cannot be reached.", str(exc)) from exc

    async def manifest(self, reference: str) -> Manifest | None:
        """The manifest at a digest or tag as the registry stores it; None when absent."""
        response = await self._request(
            "GET",
            f"{self._base}/manifests/{reference}",
            headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)},
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise registry_failure(
                f"{self.name}, asked for manifest {reference},", response.status_code
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Manifest(response.content, media_type)

    async def has_blob(self, digest: str) -> bool:
        response = await self._request("HEAD", f"{self._base}/blobs/{digest}")
        if response.status_code in (200, 404):
            return response.status_code == 200
        raise registry_failure(f"{self.name}, asked for blob {digest},", response.status_code)

    async def blob_bytes(self, digest: str, max_bytes: int) -> bytes:
        """A small blob (a signature payload) whose content is checked against its digest."""
        response = await self._request("GET", f"{self._base}/blobs/{digest}")
        if response.status_code != 200:
            raise registry_failure(f"{self.name}, asked for blob {digest},", response.status_code)
        if len(response.content) > max_bytes or sha256_digest(response.content) != digest:
            raise refused(f"{self.name} serves blob {digest} with other content than its digest.")
        return response.content

    async def copy_blob_to(self, target: Repository, digest: str, size: int) -> bool:
        """Stream one blob into `target` unless it is there already; True when bytes moved."""
        if await target.has_blob(digest):
            return False
        url = f"{self._base}/blobs/{digest}"
        try:
            async with self._client.stream("GET", url, headers=self._auth) as response:
                if response.status_code != 200:
                    raise registry_failure(
                        f"{self.name}, asked for blob {digest},", response.status_code
                    )
                checked = _DigestCheck(digest, size)
                await target.upload_blob(digest, size, checked.stream(response.aiter_bytes()))
                checked.raise_unless_matched(self.name)
        except httpx.HTTPError as exc:
            raise unavailable(f"{self.name} cannot be reached.", str(exc)) from exc
        return True

    async def upload_blob(
        self, digest: str, size: int, content: bytes | AsyncIterator[bytes]
    ) -> None:
        """A monolithic upload: the registry checks `digest` against what it received."""
        started = await self._request("POST", f"{self._base}/blobs/uploads/")
        if started.status_code != 202 or "Location" not in started.headers:
            raise registry_failure(f"{self.name}, asked to start an upload,", started.status_code)
        location = urljoin(f"{self._base}/", started.headers["Location"])
        separator = "&" if "?" in location else "?"
        finished = await self._request(
            "PUT",
            f"{location}{separator}digest={digest}",
            content=content,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
        if finished.status_code not in (201, 204):
            raise registry_failure(
                f"{self.name}, receiving blob {digest},", finished.status_code, finished.text
            )

    async def put_manifest(self, reference: str, manifest: Manifest) -> str:
        """Store `manifest` under a digest or tag; the digest the registry reports."""
        response = await self._request(
            "PUT",
            f"{self._base}/manifests/{reference}",
            content=manifest.content,
            headers={"Content-Type": manifest.media_type},
        )
        if response.status_code not in (200, 201):
            raise registry_failure(
                f"{self.name}, receiving manifest {reference},", response.status_code, response.text
            )
        return response.headers.get("Docker-Content-Digest") or manifest.digest


class _DigestCheck:
    """Hashes and counts a stream on its way through, so a wrong blob is caught even by a
    destination registry that would not check `?digest=` itself."""

    def __init__(self, digest: str, size: int) -> None:
        self.expected_digest, self.expected_size = digest, size
        self._hash = hashlib.sha256()
        self._seen = 0

    async def stream(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self._seen += len(chunk)
            if self._seen > self.expected_size:
                raise refused(f"blob {self.expected_digest} is longer than its manifest says.")
            self._hash.update(chunk)
            yield chunk

    def raise_unless_matched(self, source: str) -> None:
        actual = "sha256:" + self._hash.hexdigest()
        if actual != self.expected_digest or self._seen != self.expected_size:
            raise refused(
                f"{source} serves blob {self.expected_digest} with other content "
                f"({actual}, {self._seen} bytes)."
            )


def manifest_children(manifest: Manifest) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """`(blobs, child manifests)` a manifest refers to, each as (digest, size): config and
    layers of an image manifest, the platform manifests of an index."""
    try:
        document = json.loads(manifest.content)
    except ValueError as exc:
        raise refused("the origin's image manifest is not JSON.") from exc
    if not isinstance(document, dict):
        raise refused("the origin's image manifest is not a JSON object.")
    media_type = str(document.get("mediaType") or manifest.media_type)

    def descriptors(entries: object) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and not entry.get("urls"):  # foreign layers stay remote
                found.append((str(entry["digest"]), int(entry["size"])))
        return found

    try:
        if media_type in INDEX_MEDIA_TYPES or "manifests" in document:
            return [], descriptors(document.get("manifests"))
        return descriptors([document["config"], *(document.get("layers") or [])]), []
    except (KeyError, TypeError, ValueError) as exc:
        raise refused(f"the origin's image manifest lacks a descriptor field: {exc}.") from exc


__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "Manifest",
    "MirrorFailure",
    "Repository",
    "manifest_children",
    "registry_scheme",
    "sha256_digest",
]
