"""Mirroring one version of a peer: verify everything, then copy it, then say so.

The order is the promise of docs/trust.md ("Mirrored images"):

1. the peer token from this instance's catalog, a pull token from the origin's gateway;
2. the origin's manifest by digest, its bytes hashed (a manifest changed in the origin's storage
   no longer hashes to the digest the origin's catalog announced);
3. the origin's cosign signature of that digest and `origin_registry/owner/name:version`,
   checked with the keys pinned for the peer (`signatures.py`);
4. every blob-store artifact downloaded to scratch space and checked (SHA-256 and size as the
   origin's changes feed announced them; the provenance envelope also verified with the pinned
   keys and required to name the same image digest);
5. only then the copy: blobs, manifests by digest (the digest cannot change: the bytes are the
   origin's), the tag of the local version, the signature tag with our countersignature, and
   the artifacts under the blob keys of the local coordinates (`modelbay_common.blob.keys`).

Any failure before step 5 stores nothing. A failure inside step 5 (this instance's registry or
blob store down) may leave content-addressed blobs behind; a retry reuses them, so the copy is
idempotent like a build's push.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob import BlobStore, BlobStoreError
from modelbay_common.blob.keys import bundle_key, openapi_key, proto_key, provenance_key, sbom_key
from modelbay_common.events import MirroredArtifact, MirrorFailed, MirrorRequested, VersionMirrored
from modelbay_common.metrics import platform_metrics
from modelbay_common.provenance import statement_subject_digest
from modelbay_common.registry_auth import PULL, PUSH
from modelbay_common.scratch import owned_prefix
from modelbay_common.signing import SignatureInvalid, SigningKey, TrustedKey, dsse_verify

from modelbay_builder.debris import SCRATCH_BASE
from modelbay_builder.mirror.errors import MirrorFailure, refused, unavailable
from modelbay_builder.mirror.oci import Manifest, Repository, manifest_children
from modelbay_builder.mirror.origin import Origin, PeerCredentialsSource
from modelbay_builder.mirror.signatures import (
    countersigned,
    pinned_keys,
    push_signature,
    verify_origin_signature,
)
from modelbay_builder.registry import RegistryCredentials

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalRegistry:
    """Where mirrored images go: this instance's registry, its push tokens and signing key."""

    address: str
    credentials: RegistryCredentials
    scheme: str
    signing_key: SigningKey | None


def artifact_key(kind: ArtifactKind, owner: str, name: str, version: int, sha256: str) -> str:
    """Where a mirrored artifact is stored: the key a local build's artifact of the same kind
    has at the local coordinates (the gateway's downloads find it there unchanged)."""
    if kind is ArtifactKind.BUNDLE:
        return bundle_key(sha256)
    if kind is ArtifactKind.PROTO:
        return proto_key(owner, name, version)
    if kind is ArtifactKind.OPENAPI:
        return openapi_key(owner, name, version)
    if kind is ArtifactKind.SBOM:
        return sbom_key(owner, name, version)
    if kind is ArtifactKind.PROVENANCE:
        return provenance_key(owner, name, version)
    raise ValueError(f"the {kind} is not kept in the blob store")


class Mirrorer:
    """Runs one mirror to its end: a `VersionMirrored` or a `MirrorFailed`, never an exception
    for a cause the contract names (programming errors still raise, and the bus retries)."""

    def __init__(
        self,
        *,
        credentials: PeerCredentialsSource,
        http: httpx.AsyncClient,
        blob_store: BlobStore,
        local: LocalRegistry,
        scratch_dir: Path,
        max_artifact_bytes: int = 2 * 1024**3,
    ) -> None:
        self._credentials = credentials
        self._http = http
        self._blobs = blob_store
        self._local = local
        self._scratch_dir = scratch_dir
        self._max_artifact_bytes = max_artifact_bytes

    async def mirror(self, request: MirrorRequested) -> VersionMirrored | MirrorFailed:
        started = time.monotonic()
        outcome = "error"  # an unexpected exception: the bus retries, then dead-letters
        try:
            peer = await self._credentials.credentials(request.peer)
            origin = Origin(self._http, request.origin_url, peer.token)
            token = await origin.registry_pull_token(request.image_repository)
            source = Repository(
                self._http, request.origin_registry, request.image_repository, token
            )
            mirrored = await self.copy(request, origin, source)
            outcome = "mirrored"
        except MirrorFailure as failure:
            outcome = "unavailable" if failure.retryable else "refused"
            log.warning(
                "mirror of %s (%s/%s:%d of peer %s) %s: %s %s",
                request.subject,
                request.origin_owner,
                request.origin_name,
                request.origin_version,
                request.peer,
                outcome,
                failure.reason,
                failure.detail or "",
            )
            return _failed(request, failure)
        finally:
            metrics = platform_metrics()
            metrics.mirrors_finished.labels(outcome).inc()
            metrics.mirror_duration.labels(outcome).observe(time.monotonic() - started)
        log.info(
            "mirrored %s/%s:%d of peer %s as %s (signed by %s)",
            request.origin_owner,
            request.origin_name,
            request.origin_version,
            request.peer,
            mirrored.image_ref,
            mirrored.verified_key_id,
        )
        return mirrored

    async def copy(
        self, request: MirrorRequested, origin: Origin, source: Repository
    ) -> VersionMirrored:
        """Steps 2-5 of the module docstring with an origin already authenticated."""
        keys = pinned_keys(request.trusted_keys, request.peer)
        digest = request.image_digest
        manifest = await _manifest_by_digest(source, digest)
        identity = f"{request.origin_registry}/{request.image_repository}:{request.origin_version}"
        verified = await verify_origin_signature(source, digest, identity, keys)
        self._scratch_dir.mkdir(parents=True, exist_ok=True)
        # Named like a build's scratch directory: a killed builder's is swept (debris.py).
        prefix = owned_prefix(SCRATCH_BASE) + "mirror-"
        scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=self._scratch_dir))
        try:
            downloaded = await _download_artifacts(
                request, origin, scratch, keys, self._max_artifact_bytes
            )
            repository = f"{request.owner}/{request.name}"
            target = await self._target(repository)
            await _refuse_moved_tag(target, str(request.version), digest)
            await _copy_tree(source, target, manifest)
            await target.put_manifest(str(request.version), manifest)
            own_identity = f"{self._local.address}/{repository}:{request.version}"
            artifact = countersigned(verified, self._local.signing_key, own_identity, digest)
            await push_signature(target, digest, artifact)
            for artifact_of, path in downloaded:
                kind = ArtifactKind(artifact_of.kind)
                key = artifact_key(
                    kind, request.owner, request.name, request.version, artifact_of.sha256
                )
                try:
                    await self._blobs.put_path(key, path, content_type=kind.media_type)
                except BlobStoreError as exc:
                    raise unavailable("This instance's blob store failed.", str(exc)) from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return VersionMirrored(
            owner=request.owner,
            name=request.name,
            version=request.version,
            peer=request.peer,
            origin_url=request.origin_url,
            origin_owner=request.origin_owner,
            origin_name=request.origin_name,
            origin_version=request.origin_version,
            # `registry/owner/name:version` like a local ImageBuilt's: `modelbay pull` reads the
            # tag for the signed identity and pulls by `image_digest`.
            image_ref=f"{self._local.address}/{repository}:{request.version}",
            image_digest=digest,
            verified_key_id=verified.key_id,
            artifacts=tuple(artifact_of for artifact_of, _ in downloaded),
        )

    async def _target(self, repository: str) -> Repository:
        config = self._local.credentials.auth_config(repository, PULL, PUSH)
        token = config["registrytoken"] if config else None
        return Repository(
            self._http, self._local.address, repository, token, scheme=self._local.scheme
        )


async def _manifest_by_digest(source: Repository, digest: str) -> Manifest:
    manifest = await source.manifest(digest)
    if manifest is None:
        raise refused(f"The origin's registry has no manifest {digest}.")
    if manifest.digest != digest:
        raise refused(
            f"The manifest the origin's registry serves for {digest} hashes to "
            f"{manifest.digest}: the image was modified on the origin."
        )
    return manifest


async def _copy_tree(source: Repository, target: Repository, manifest: Manifest) -> None:
    """Blobs first, then child manifests, then the manifest itself (a registry refuses a
    manifest whose references it does not hold), each by digest."""
    blobs, children = manifest_children(manifest)
    for blob_digest, size in blobs:
        await source.copy_blob_to(target, blob_digest, size)
    for child_digest, _ in children:
        child = await _manifest_by_digest(source, child_digest)
        await _copy_tree(source, target, child)
    stored = await target.put_manifest(manifest.digest, manifest)
    if stored != manifest.digest:
        raise refused(f"This instance's registry stored {manifest.digest} as {stored}.")


async def _refuse_moved_tag(target: Repository, tag: str, digest: str) -> None:
    existing = await target.manifest(tag)
    if existing is not None and existing.digest != digest:
        raise refused(
            f"{target.repository}:{tag} already holds another image ({existing.digest}) in this "
            "instance's registry."
        )


async def _download_artifacts(
    request: MirrorRequested,
    origin: Origin,
    scratch: Path,
    keys: list[TrustedKey],
    max_bytes: int,
) -> list[tuple[MirroredArtifact, Path]]:
    """Every blob-store artifact, downloaded and checked; the image tarball is skipped (the
    image travels registry to registry)."""
    downloaded: list[tuple[MirroredArtifact, Path]] = []
    for index, artifact in enumerate(request.artifacts):
        kind = ArtifactKind(artifact.kind)
        if not kind.in_blob_store:
            continue
        if artifact.size > max_bytes:
            raise refused(
                f"The origin announces a {kind.value} of {artifact.size} bytes, more than the "
                f"{max_bytes} this instance accepts (MIRROR_MAX_ARTIFACT_BYTES)."
            )
        path = scratch / f"{index}-{kind.value}"
        await origin.download(artifact.url, artifact.sha256, artifact.size, path)
        if kind is ArtifactKind.PROVENANCE:
            _check_provenance(path, keys, request.image_digest)
        downloaded.append((artifact, path))
    return downloaded


def _check_provenance(path: Path, keys: list[TrustedKey], digest: str) -> None:
    try:
        statement = json.loads(dsse_verify(json.loads(path.read_bytes()), keys))
        subject = statement_subject_digest(statement)
    except SignatureInvalid as exc:
        raise refused(
            f"The origin's provenance does not verify with the pinned keys: {exc}."
        ) from exc
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise refused(f"The origin's provenance is malformed: {exc}.") from exc
    if subject != digest:
        raise refused(f"The origin's provenance is about {subject}, not the image {digest}.")


def _failed(request: MirrorRequested, failure: MirrorFailure) -> MirrorFailed:
    return MirrorFailed(
        owner=request.owner,
        name=request.name,
        version=request.version,
        peer=request.peer,
        origin_url=request.origin_url,
        origin_owner=request.origin_owner,
        origin_name=request.origin_name,
        origin_version=request.origin_version,
        reason=failure.reason,
        detail=failure.detail,
        retryable=failure.retryable,
    )
