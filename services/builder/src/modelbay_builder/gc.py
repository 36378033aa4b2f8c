"""The builder's artifact garbage collection: registry images of dead versions, and the copies
of those images its Docker engine keeps after the push (`engine-image`, untagged by version tag).

Mark: the image digest of every build whose version is not in the catalog's dead list (a digest
two versions share stays while either lives). Sweep: each dead version's manifest, deleted by
digest through the Distribution API (`DELETE /v2/<owner>/<name>/manifests/<digest>`; the
registry must run with `storage.delete.enabled`), once its build finished longer ago than the
grace period. A manifest delete only unlinks: the layers' bytes go when the registry's own
`docker-registry garbage-collect` runs, which must run with the registry stopped or read-only
(docs/operations.md, "Artifact garbage collection") — so this module never runs it.

The size reported is the manifest's config plus layers: an upper bound of what the registry's
collection frees (a layer another image still uses stays).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from docker.errors import DockerException, NotFound
from modelbay_common.contracts.gc import GcReport, GcRequest, ReclaimedArtifact
from modelbay_common.registry_auth import DELETE, PULL, repository_access
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.registry import BUILDER_SUBJECT, MANIFEST_MEDIA_TYPES, RegistryCredentials
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.store_gc import BuiltImage, GcStore

log = logging.getLogger(__name__)

SERVICE = "builder"
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RegistryTarget:
    """The registry images are pushed to, and how the builder authenticates to it."""

    registry: str
    insecure: bool
    credentials: RegistryCredentials

    def manifest_url(self, repository: str, digest: str) -> str:
        scheme = "http" if self.insecure else "https"
        return f"{scheme}://{self.registry}/v2/{repository}/manifests/{digest}"

    def headers(self, repository: str) -> dict[str, str]:
        tokens = self.credentials.tokens
        if tokens is None:
            return {}
        minted = tokens.mint(BUILDER_SUBJECT, [repository_access(repository, PULL, DELETE)])
        return {"Authorization": f"Bearer {minted.token}"}


def _reclaimable(
    images: list[BuiltImage], request: GcRequest, cutoff: datetime
) -> tuple[list[tuple[str, str]], int]:
    """(repository, digest) pairs only dead versions use, and how many are still too young."""
    dead = {(d.owner, d.name, d.version) for d in request.dead}
    live = {
        (f"{i.owner}/{i.name}", i.image_digest)
        for i in images
        if (i.owner, i.name, i.version) not in dead
    }
    chosen: dict[tuple[str, str], None] = {}
    young = 0
    for image in images:
        target = (f"{image.owner}/{image.name}", image.image_digest)
        if (image.owner, image.name, image.version) not in dead or target in live:
            continue
        if image.finished_at is None or image.finished_at > cutoff:
            young += 1
            continue
        chosen[target] = None
    return list(chosen), young


def _local_tags(images: list[BuiltImage], request: GcRequest, cutoff: datetime) -> list[str]:
    """The engine tags of dead versions' images past the grace (a tag names one version)."""
    dead = {(d.owner, d.name, d.version) for d in request.dead}
    return sorted(
        {
            image.image_ref
            for image in images
            if image.image_ref
            and (image.owner, image.name, image.version) in dead
            and image.finished_at is not None
            and image.finished_at <= cutoff
        }
    )


def _remove_local(docker: DockerConnection, tag: str, dry_run: bool) -> int | None:
    """The size of the engine's image `tag` (None: not there); untagged unless `dry_run` (the
    engine deletes the image once no tag or container holds it)."""
    try:
        image = docker.client.images.get(tag)
    except NotFound:
        return None
    size = int(image.attrs.get("Size") or 0)
    if not dry_run:
        try:
            docker.client.images.remove(tag, noprune=False)
        except NotFound:
            return None
    return size


class ImageCollector:
    """Registry manifests of dead versions and, given the builder's engine, their local images
    (the builder keeps every image it built in its engine after the push)."""

    def __init__(self, target: RegistryTarget, docker: DockerConnection | None = None) -> None:
        self._target = target
        self._docker = docker

    async def collect(
        self, session: AsyncSession, request: GcRequest, *, now: datetime
    ) -> GcReport:
        """One mark-and-sweep of the registry's manifests; deletes nothing when `dry_run`."""
        images = await GcStore(session).built_images()
        cutoff = now - timedelta(seconds=request.grace_seconds)
        chosen, young = _reclaimable(images, request, cutoff)
        report = GcReport(service=SERVICE, dry_run=request.dry_run, reclaimed=[], kept_young=young)
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            for repository, digest in chosen:
                try:
                    size = await self._sweep_one(client, repository, digest, request.dry_run)
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning("gc: could not delete %s@%s: %s", repository, digest, exc)
                    report.errors.append(f"{repository}@{digest}: {exc}")
                    continue
                if size is not None:
                    key = f"{repository}@{digest}"
                    report.reclaimed.append(ReclaimedArtifact(kind="image", key=key, size=size))
        if self._docker is not None:
            await self._collect_local(images, request, cutoff, report)
        return report

    async def _collect_local(
        self, images: list[BuiltImage], request: GcRequest, cutoff: datetime, report: GcReport
    ) -> None:
        assert self._docker is not None
        for tag in _local_tags(images, request, cutoff):
            try:
                size = await asyncio.to_thread(_remove_local, self._docker, tag, request.dry_run)
            except DockerException as exc:  # e.g. a container still uses it: next run
                log.warning("gc: could not remove the engine image %s: %s", tag, exc)
                report.errors.append(f"{tag}: {exc}")
                continue
            if size is not None:
                report.reclaimed.append(ReclaimedArtifact(kind="engine-image", key=tag, size=size))

    async def _sweep_one(
        self, client: httpx.AsyncClient, repository: str, digest: str, dry_run: bool
    ) -> int | None:
        """The manifest's size (None: already gone); deleted unless `dry_run`."""
        url = self._target.manifest_url(repository, digest)
        headers = {"Accept": MANIFEST_MEDIA_TYPES, **self._target.headers(repository)}
        found = await client.get(url, headers=headers)
        if found.status_code == 404:
            return None
        found.raise_for_status()
        size = _manifest_size(found.json())
        if not dry_run:
            deleted = await client.delete(url, headers=headers)
            if deleted.status_code not in (202, 404):
                raise ValueError(f"the registry answered HTTP {deleted.status_code} to the delete")
        return size


def _manifest_size(manifest: object) -> int:
    """Config plus layers of an image manifest (an index: the sizes of its manifests)."""
    if not isinstance(manifest, dict):
        return 0
    parts = [*(manifest.get("layers") or []), manifest.get("config") or {}]
    parts += list(manifest.get("manifests") or [])
    return sum(int(p.get("size", 0)) for p in parts if isinstance(p, dict))


def image_collector(settings: BuilderSettings, docker: DockerConnection) -> ImageCollector:
    """The collector of the registry this builder pushes to (with its own token key) and of
    the images it keeps in its Docker engine."""
    credentials = RegistryCredentials(settings.registry_tokens())
    target = RegistryTarget(settings.registry, settings.registry_insecure, credentials)
    return ImageCollector(target, docker)
