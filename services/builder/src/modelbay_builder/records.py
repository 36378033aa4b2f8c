"""Plain records passed between the layers (never ORM rows, never API schemas)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from modelbay_common.events import DependenciesResolved


class BuildStatus(StrEnum):
    QUEUED = "queued"
    BUILDING = "building"
    VALIDATING = "validating"
    PUSHING = "pushing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


ACTIVE_STATUSES = (BuildStatus.BUILDING, BuildStatus.VALIDATING, BuildStatus.PUSHING)
FINAL_STATUSES = (BuildStatus.SUCCEEDED, BuildStatus.FAILED)


class FailureKind(StrEnum):
    BUILD = "build"  # docker build, inputs or push: ImageBuildFailed
    VALIDATION = "validation"  # start-up or a sample: ValidationFailed


@dataclass(frozen=True)
class BuildRequest:
    """What one build needs, taken from a DependenciesResolved event."""

    owner: str
    name: str
    version: int
    bundle_uri: str
    bundle_sha256: str
    python_version: str
    lock: tuple[str, ...]
    lock_hash: str
    wheelhouse_uri: str

    @classmethod
    def from_event(cls, event: DependenciesResolved) -> BuildRequest:
        return cls(
            owner=event.owner,
            name=event.name,
            version=event.version,
            bundle_uri=event.bundle_uri,
            bundle_sha256=event.bundle_sha256,
            python_version=event.python_version,
            lock=tuple(event.lock),
            lock_hash=event.lock_hash,
            wheelhouse_uri=event.wheelhouse_uri,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildRequest:
        return cls(**{**data, "lock": tuple(data["lock"])})

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "name": self.name,
            "version": self.version,
            "bundle_uri": self.bundle_uri,
            "bundle_sha256": self.bundle_sha256,
            "python_version": self.python_version,
            "lock": list(self.lock),
            "lock_hash": self.lock_hash,
            "wheelhouse_uri": self.wheelhouse_uri,
        }

    @property
    def subject(self) -> str:
        return f"{self.owner}/{self.name}/{self.version}"

    @property
    def subject_slug(self) -> str:
        return f"{self.owner}-{self.name}-{self.version}"


@dataclass(frozen=True)
class BuildResult:
    """A successful build: the pushed image and how long each stage took."""

    image_ref: str
    image_id: str
    image_digest: str
    image_size: int
    sbom_uri: str
    dependency_layer_cached: bool
    build_seconds: float
    validation_seconds: float
    push_seconds: float
    # Memory of the validated server after it became ready, before any sample (None when it
    # could not be read); a solution's `{node id: owner/name:version}`.
    idle_memory_bytes: int | None = None
    solution_nodes: dict[str, str] | None = None
    # The signing stage (attestation.py); None when no signing key is configured.
    signing_seconds: float | None = None
    provenance_key: str | None = None
    provenance_sha256: str | None = None


@dataclass(frozen=True)
class ClaimedBuild:
    """A build this worker now owns (status `building`)."""

    build_id: str
    request: BuildRequest
    attempts: int


@dataclass(frozen=True)
class BuildView:
    """What the internal API shows about a build."""

    owner: str
    name: str
    version: int
    status: BuildStatus
    failure_kind: str | None
    reason: str | None
    log_tail: str
    lock_hash: str
    image_ref: str | None
    image_id: str | None
    image_digest: str | None
    image_size: int | None
    sbom_uri: str | None
    dependency_layer_cached: bool | None
    build_seconds: float | None
    validation_seconds: float | None
    push_seconds: float | None
    attempts: int
    idle_memory_bytes: int | None
    solution_nodes: dict[str, str] | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
