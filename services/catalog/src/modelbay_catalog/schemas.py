"""Request and response bodies of the catalog's internal API (separate from rows and events)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from modelbay_common.access import Visibility
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob.keys import openapi_key, proto_key
from modelbay_common.refs import is_local_process_ref
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from modelbay_catalog.lifecycle import VersionState, VersionStatus
from modelbay_catalog.records import ModelRecord, SearchHit, StoredVersion
from modelbay_catalog.rules import Category, normalize_tags

NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class PublishBody(BaseModel):
    """`POST /internal/models/{owner}/{name}/publish`."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, description="default: newest ready version")
    visibility: Visibility = Visibility.PUBLIC
    description: Annotated[NonBlank, StringConstraints(max_length=10_000)]
    category: Category
    license: Annotated[NonBlank, StringConstraints(max_length=200)]
    tags: list[str] | None = Field(default=None, description="replaces the tags; omit to keep")

    @field_validator("tags")
    @classmethod
    def _normalize_tags(cls, tags: list[str] | None) -> list[str] | None:
        return None if tags is None else list(normalize_tags(tags))


class DownloadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ArtifactKind


class ModelOut(BaseModel):
    owner: str
    name: str
    visibility: Visibility
    owner_org: str | None
    description: str
    category: str | None
    license: str | None
    tags: list[str]
    libraries: list[str]
    latest_version: int | None
    latest_status: str | None
    published_version: int | None
    published_at: datetime | None
    published_by: str | None
    downloads: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, model: ModelRecord) -> ModelOut:
        return cls(
            owner=model.owner,
            name=model.name,
            visibility=model.visibility,
            owner_org=model.owner_org,
            description=model.description,
            category=model.category,
            license=model.license,
            tags=list(model.tags),
            libraries=list(model.libraries),
            latest_version=model.latest_version,
            latest_status=model.latest_status,
            published_version=model.published_version,
            published_at=model.published_at,
            published_by=model.published_by,
            downloads=model.downloads,
            created_at=model.created_at,
            updated_at=model.updated_at,
        )


class SearchItemOut(ModelOut):
    rank: float | None = Field(description="text-search relevance; null without `q`")


class SearchPageOut(BaseModel):
    items: list[SearchItemOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")

    @classmethod
    def of(cls, hits: list[SearchHit], next_cursor: str | None) -> SearchPageOut:
        items = [
            SearchItemOut(**ModelOut.of(hit.model).model_dump(), rank=hit.rank) for hit in hits
        ]
        return cls(items=items, next_cursor=next_cursor)


class VersionSummaryOut(BaseModel):
    version: int
    status: VersionStatus
    failure_reason: str | None
    image_ref: str | None
    image_digest: str | None
    downloads: dict[str, int]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredVersion) -> VersionSummaryOut:
        return cls(
            version=stored.state.version,
            status=stored.state.status,
            failure_reason=stored.state.failure_reason,
            image_ref=stored.state.image_ref,
            image_digest=stored.state.image_digest,
            downloads=stored.downloads,
            created_at=stored.created_at,
            updated_at=stored.updated_at,
        )


class ModelDetailOut(ModelOut):
    versions: list[VersionSummaryOut]


class FailureOut(BaseModel):
    reason: str
    detail: str | None = Field(description="pip's message, the build log tail or the mismatch")
    sample: dict[str, Any] | None = Field(
        description="the failing sample: method, sample_index, expected, actual"
    )


class ImageOut(BaseModel):
    ref: str
    digest: str | None
    size: int | None
    pull_command: str | None = Field(
        description="`docker pull` line; null for a model served as a local process (no image)"
    )
    pinned_pull_command: str | None = Field(description="pulls exactly the validated image")
    sbom_uri: str | None
    dependency_layer_cached: bool | None


class FieldOut(BaseModel):
    name: str
    type: str = ""


class MethodOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    description: str = ""
    input_message: str = ""
    output_message: str = ""
    inputs: list[FieldOut] = []
    outputs: list[FieldOut] = []


class InterfaceOut(BaseModel):
    methods: list[MethodOut]
    proto_key: str = Field(description="blob-store key of model.proto (docs/pipeline.md)")
    openapi_key: str = Field(description="blob-store key of openapi.json")


class BundleOut(BaseModel):
    uri: str
    sha256: str | None
    size: int | None


class TimingsOut(BaseModel):
    uploaded_at: datetime | None
    resolved_at: datetime | None
    finished_at: datetime | None = Field(description="when it became ready or failed")
    resolve_seconds: float | None
    build_seconds: float | None
    validation_seconds: float | None
    total_seconds: float | None = Field(description="from upload to ready/failed")


class VersionDetailOut(BaseModel):
    owner: str
    name: str
    version: int
    status: VersionStatus
    failure: FailureOut | None
    image: ImageOut | None
    interface: InterfaceOut
    python_version: str | None
    requirements: list[str]
    lock: list[str]
    lock_hash: str | None
    wheelhouse_reused: bool | None
    bundle: BundleOut | None
    uploaded_by: str | None
    description: str | None
    license: str | None
    timings: TimingsOut
    downloads: dict[str, int]
    created_at: datetime
    updated_at: datetime


class VisibilityOut(BaseModel):
    """For the gateway's event filter: it applies `access.can_see` with the subscriber's identity."""

    owner: str
    name: str
    visibility: Visibility
    owner_org: str | None


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def image_of(state: VersionState) -> ImageOut | None:
    if state.image_ref is None:
        return None
    if is_local_process_ref(state.image_ref):
        # The embedded mode without Docker serves the model from a venv: there is no image.
        pull, pinned = None, None
    else:
        last_part = state.image_ref.rsplit("/", 1)[-1]
        repository = state.image_ref.rsplit(":", 1)[0] if ":" in last_part else state.image_ref
        pull = f"docker pull {state.image_ref}"
        pinned = f"docker pull {repository}@{state.image_digest}" if state.image_digest else None
    return ImageOut(
        ref=state.image_ref,
        digest=state.image_digest,
        size=state.image_size,
        pull_command=pull,
        pinned_pull_command=pinned,
        sbom_uri=state.sbom_uri,
        dependency_layer_cached=state.dependency_layer_cached,
    )


def version_detail(model: ModelRecord, stored: StoredVersion) -> VersionDetailOut:
    state = stored.state
    return VersionDetailOut(
        owner=model.owner,
        name=model.name,
        version=state.version,
        status=state.status,
        failure=None
        if state.failure_reason is None
        else FailureOut(
            reason=state.failure_reason, detail=state.failure_detail, sample=state.failure_sample
        ),
        image=image_of(state),
        interface=InterfaceOut(
            methods=[MethodOut.model_validate(method) for method in state.interface]
            or [MethodOut(name=method) for method in state.methods],
            proto_key=proto_key(model.owner, model.name, state.version),
            openapi_key=openapi_key(model.owner, model.name, state.version),
        ),
        python_version=state.python_version,
        requirements=list(state.requirements),
        lock=list(state.lock),
        lock_hash=state.lock_hash,
        wheelhouse_reused=state.wheelhouse_reused,
        bundle=None
        if state.bundle_uri is None
        else BundleOut(uri=state.bundle_uri, sha256=state.bundle_sha256, size=state.bundle_size),
        uploaded_by=state.uploaded_by,
        description=state.description,
        license=state.license,
        timings=TimingsOut(
            uploaded_at=state.uploaded_at,
            resolved_at=state.resolved_at,
            finished_at=state.finished_at,
            resolve_seconds=seconds_between(state.uploaded_at, state.resolved_at),
            build_seconds=state.build_seconds,
            validation_seconds=state.validation_seconds,
            total_seconds=seconds_between(state.uploaded_at, state.finished_at),
        ),
        downloads=stored.downloads,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )
