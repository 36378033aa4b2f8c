"""Shapes of the internal API's answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from modelbay_builder.records import BuildView


class BuildOut(BaseModel):
    owner: str
    name: str
    version: int
    status: str
    failure_kind: str | None
    reason: str | None
    log_tail: str
    lock_hash: str
    image_ref: str | None
    image_digest: str | None
    image_size: int | None
    sbom_uri: str | None
    dependency_layer_cached: bool | None
    build_seconds: float | None
    validation_seconds: float | None
    push_seconds: float | None
    attempts: int
    idle_memory_bytes: int | None = Field(
        description="memory of the validated server at rest (sizes deployments' requests)"
    )
    solution_nodes: dict[str, str] | None = Field(
        description="a solution's nodes: `{node id: owner/name:version}`; null for a model"
    )
    grpc_port: int | None = Field(
        default=None,
        description="the gRPC port the image serves (OIP v2 and the model's service); null "
        "for pre-built images and solution orchestrators (HTTP only), and older builds",
    )
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, view: BuildView) -> BuildOut:
        return cls(
            owner=view.owner,
            name=view.name,
            version=view.version,
            status=view.status.value,
            failure_kind=view.failure_kind,
            reason=view.reason,
            log_tail=view.log_tail,
            lock_hash=view.lock_hash,
            image_ref=view.image_ref,
            image_digest=view.image_digest,
            image_size=view.image_size,
            sbom_uri=view.sbom_uri,
            dependency_layer_cached=view.dependency_layer_cached,
            build_seconds=view.build_seconds,
            validation_seconds=view.validation_seconds,
            push_seconds=view.push_seconds,
            attempts=view.attempts,
            idle_memory_bytes=view.idle_memory_bytes,
            solution_nodes=view.solution_nodes,
            grpc_port=view.grpc_port,
            queued_at=view.queued_at,
            started_at=view.started_at,
            finished_at=view.finished_at,
        )
