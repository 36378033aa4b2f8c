"""Artifact garbage collection (docs/operations.md, "Artifact garbage collection").

The catalog knows which versions are dead (failed, or of a deleted model) and answers
`GET /internal/gc/marks`; the gateway's `POST /v1/admin/gc` hands that list to each
service owning artifacts (`POST /internal/gc`: onboarding for bundles, wheelhouses, ELF scans and
`.deb` archives; the builder for registry images), which sweeps what only dead versions reference.

The mark is "every version NOT in the dead list": a version the catalog has not heard of yet (its
`ModelUploaded` still in flight) counts as live, so a lagging event never costs a live artifact.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DeathReason = Literal["failed", "model-deleted"]
ArtifactGcKind = Literal[
    "bundle", "wheelhouse", "system-libraries", "system-packages", "image", "engine-image"
]


def death_reason(status: str, model_deleted: bool) -> DeathReason | None:
    """Why a version's artifacts may go, or None while it is live (the one liveness rule).

    A deleted model's versions are all dead; otherwise only a `failed` version is: `ready`
    versions serve, and versions still in the pipeline are being written right now.
    """
    if model_deleted:
        return "model-deleted"
    if status == "failed":
        return "failed"
    return None


class DeadVersion(BaseModel):
    owner: str
    name: str
    version: int = Field(ge=1)
    reason: DeathReason


class GcMarks(BaseModel):
    """The catalog's answer: the dead versions, and what its live versions reference.

    The live references cover versions an owning service has no record of (a model mirrored from
    a federation peer has a bundle in the store but no upload in onboarding)."""

    dead: list[DeadVersion] = Field(description="versions whose artifacts may be reclaimed")
    live_bundle_sha256: list[str] = Field(default_factory=list)
    live_lock_hashes: list[str] = Field(default_factory=list)


class GcRequest(GcMarks):
    """What the gateway sends each owning service: the catalog's marks and the mode."""

    dry_run: bool = Field(default=True, description="report what would go, delete nothing")
    grace_seconds: int = Field(
        ge=0, description="never reclaim an artifact written less than this long ago"
    )


class ReclaimedArtifact(BaseModel):
    kind: ArtifactGcKind
    key: str = Field(
        description="blob key; `repository@digest` for a registry image; the local tag for an "
        "image in the builder's Docker engine (`engine-image`)"
    )
    size: int = Field(ge=0, description="bytes (an image: its manifest's layers and config)")


class GcReport(BaseModel):
    """One service's sweep: what was (or, in a dry run, would be) reclaimed."""

    service: str
    dry_run: bool
    reclaimed: list[ReclaimedArtifact]
    kept_young: int = Field(ge=0, description="unreferenced, but younger than the grace period")
    errors: list[str] = Field(default_factory=list, description="artifacts that could not go")

    @property
    def bytes_reclaimed(self) -> int:
        return sum(item.size for item in self.reclaimed)
