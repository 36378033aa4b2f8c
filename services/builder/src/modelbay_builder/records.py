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
    # The span that queued the build (W3C Trace Context), so the build, claimed later and
    # perhaps by another replica, continues the push's trace (modelbay_common.tracing).
    traceparent: str | None = None
    tracestate: str | None = None
    # Debian packages of the image (name, version, reasons, fetched: the event's SystemPackage)
    # and the archive of their `.deb` files; requests stored before they existed have neither.
    system_packages: tuple[dict[str, Any], ...] = ()
    system_packages_uri: str | None = None

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
            system_packages=tuple(p.model_dump(mode="json") for p in event.system_packages),
            system_packages_uri=event.system_packages_uri,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildRequest:
        packages = tuple(data.get("system_packages") or ())
        return cls(**{**data, "lock": tuple(data["lock"]), "system_packages": packages})

    def to_json(self) -> dict[str, Any]:
        trace = {"traceparent": self.traceparent, "tracestate": self.tracestate}
        return {
            **{key: value for key, value in trace.items() if value is not None},
            "owner": self.owner,
            "name": self.name,
            "version": self.version,
            "bundle_uri": self.bundle_uri,
            "bundle_sha256": self.bundle_sha256,
            "python_version": self.python_version,
            "lock": list(self.lock),
            "lock_hash": self.lock_hash,
            "wheelhouse_uri": self.wheelhouse_uri,
            "system_packages": list(self.system_packages),
            "system_packages_uri": self.system_packages_uri,
        }

    @property
    def trace_context(self) -> dict[str, str | None]:
        return {"traceparent": self.traceparent, "tracestate": self.tracestate}

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
    # The gRPC port the image serves (built model images); None for pre-built images in other
    # languages and solution orchestrators, which serve HTTP only.
    grpc_port: int | None = None
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
    grpc_port: int | None = None
