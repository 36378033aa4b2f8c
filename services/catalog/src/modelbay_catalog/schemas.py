"""Bodies of the catalog's internal API (separate from rows and events).

Requests are declared here; answers are the shared contract `modelbay_common.contracts.catalog`
(the gateway parses the same classes), built from the catalog's records by the functions below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from modelbay_common.access import Visibility
from modelbay_common.api_params import INT32_MAX
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob.keys import openapi_key, proto_key
from modelbay_common.contracts.catalog import (
    BundleInfo,
    FacetValue,
    Failure,
    Image,
    Interface,
    InterfaceChangeItem,
    InterfaceDiffDetail,
    InterfaceDiffSummary,
    InterfaceMethod,
    ModelDeletion,
    ModelDetail,
    ModelKind,
    ModelSummary,
    ModelVisibility,
    PickleScanDetail,
    SearchFacets,
    SearchItem,
    SearchPage,
    SolutionNodeItem,
    Timings,
    VersionDetail,
    VersionSummary,
)
from modelbay_common.contracts.system_packages import SystemPackageItem
from modelbay_common.refs import is_local_process_ref
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from modelbay_catalog.deletion import DeletedModel
from modelbay_catalog.lifecycle import VersionState
from modelbay_catalog.records import (
    Facets,
    ModelRecord,
    RecordedInterfaceDiff,
    SearchHit,
    SearchSort,
    StoredVersion,
    VersionLine,
)
from modelbay_catalog.requirement_reasons import requirement_items
from modelbay_catalog.rules import Category, normalize_tags
from modelbay_catalog.social.rules import RatingTally

NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class PublishBody(BaseModel):
    """`POST /internal/models/{owner}/{name}/publish`."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None, ge=1, le=INT32_MAX, description="default: newest ready version"
    )
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


def summary_fields(model: ModelRecord) -> dict[str, Any]:
    """The fields every model card shows (`ModelSummary`), for the contracts that extend it:
    each answer is validated once, not built as a summary, dumped and validated again."""
    return {
        "owner": model.owner,
        "name": model.name,
        "visibility": model.visibility,
        "owner_org": model.owner_org,
        "description": model.description,
        "category": model.category,
        "license": model.license,
        "tags": list(model.tags),
        "libraries": list(model.libraries),
        "latest_version": model.latest_version,
        "latest_status": model.latest_status,
        "kind": "solution" if model.kind == "solution" else "model",
        "published_version": model.published_version,
        "published_at": model.published_at,
        "published_by": model.published_by,
        "downloads": model.downloads,
        "rating_average": RatingTally(model.rating_count, model.rating_total).average,
        "rating_count": model.rating_count,
        "favourites": model.favourites,
        "views": model.views,
        "created_at": model.created_at,
        "updated_at": model.updated_at,
    }


def model_summary(model: ModelRecord) -> ModelSummary:
    return ModelSummary(**summary_fields(model))


def search_page(
    hits: list[SearchHit], next_cursor: str | None, sort: SearchSort, facets: Facets | None
) -> SearchPage:
    items = [SearchItem(**summary_fields(hit.model), rank=hit.rank) for hit in hits]
    return SearchPage(
        items=items,
        next_cursor=next_cursor,
        sort=sort.value,
        facets=None if facets is None else search_facets(facets),
    )


def search_facets(facets: Facets) -> SearchFacets:
    return SearchFacets(
        **{
            facet.value: [FacetValue(value=found.value, count=found.count) for found in counts]
            for facet, counts in facets.items()
        }
    )


def interface_diff_summary(recorded: RecordedInterfaceDiff) -> InterfaceDiffSummary:
    return InterfaceDiffSummary(
        compared_to=recorded.compared_to,
        breaking=recorded.diff.breaking,
        breaking_changes=recorded.diff.breaking_changes,
        additive_changes=recorded.diff.additive_changes,
    )


def interface_diff_detail(recorded: RecordedInterfaceDiff) -> InterfaceDiffDetail:
    return InterfaceDiffDetail(
        **interface_diff_summary(recorded).model_dump(),
        changes=[
            InterfaceChangeItem.model_validate(change.model_dump())
            for change in recorded.diff.changes
        ],
    )


def version_line(line: VersionLine) -> VersionSummary:
    """A version as the model page lists it (read by store_pages.py)."""
    recorded = line.interface_diff
    return VersionSummary(
        version=line.version,
        status=line.status,
        kind="solution" if line.kind == "solution" else "model",
        failure_reason=line.failure_reason,
        image_ref=line.image_ref,
        image_digest=line.image_digest,
        interface_diff=None if recorded is None else interface_diff_summary(recorded),
        downloads=line.downloads,
        created_at=line.created_at,
        updated_at=line.updated_at,
    )


def model_detail(model: ModelRecord, versions: Sequence[VersionLine]) -> ModelDetail:
    return ModelDetail(
        **summary_fields(model), versions=[version_line(version) for version in versions]
    )


def model_visibility(model: ModelRecord) -> ModelVisibility:
    return ModelVisibility(
        owner=model.owner,
        name=model.name,
        visibility=model.visibility,
        owner_org=model.owner_org,
    )


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def image_of(state: VersionState) -> Image | None:
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
    return Image(
        ref=state.image_ref,
        digest=state.image_digest,
        size=state.image_size,
        pull_command=pull,
        pinned_pull_command=pinned,
        sbom_uri=state.sbom_uri,
        dependency_layer_cached=state.dependency_layer_cached,
        provenance_uri=state.provenance_uri,
        provenance_sha256=state.provenance_sha256,
    )


def _kind(state: VersionState) -> ModelKind:
    return "solution" if state.kind == "solution" else "model"


def solution_nodes(state: VersionState) -> list[SolutionNodeItem]:
    """A solution version's nodes with their coordinates split out (for links)."""
    nodes: list[SolutionNodeItem] = []
    for node in state.nodes:
        model = str(node.get("model", ""))
        reference, _, version = model.rpartition(":")
        owner, _, name = reference.partition("/")
        if owner and name and version.isdigit():
            nodes.append(
                SolutionNodeItem(
                    node=str(node.get("node", "")),
                    model=model,
                    owner=owner,
                    name=name,
                    version=int(version),
                )
            )
    return nodes


def version_detail(model: ModelRecord, stored: StoredVersion) -> VersionDetail:
    state = stored.state
    return VersionDetail(
        owner=model.owner,
        name=model.name,
        version=state.version,
        status=state.status,
        kind=_kind(state),
        nodes=solution_nodes(state),
        failure=None
        if state.failure_reason is None
        else Failure(
            reason=state.failure_reason, detail=state.failure_detail, sample=state.failure_sample
        ),
        image=image_of(state),
        interface=Interface(
            methods=[InterfaceMethod.model_validate(method) for method in state.interface]
            or [InterfaceMethod(name=method) for method in state.methods],
            proto_key=proto_key(model.owner, model.name, state.version),
            openapi_key=openapi_key(model.owner, model.name, state.version),
        ),
        python_version=state.python_version,
        requirements=list(state.requirements),
        lock=list(state.lock),
        lock_hash=state.lock_hash,
        wheelhouse_reused=state.wheelhouse_reused,
        system_packages=[SystemPackageItem.model_validate(p) for p in state.system_packages],
        requirement_reasons=requirement_items(state.requirements, state.requirement_reasons),
        bundle=None
        if state.bundle_uri is None
        else BundleInfo(uri=state.bundle_uri, sha256=state.bundle_sha256, size=state.bundle_size),
        uploaded_by=state.uploaded_by,
        description=state.description,
        license=state.license,
        timings=Timings(
            uploaded_at=state.uploaded_at,
            resolved_at=state.resolved_at,
            finished_at=state.finished_at,
            resolve_seconds=seconds_between(state.uploaded_at, state.resolved_at),
            build_seconds=state.build_seconds,
            validation_seconds=state.validation_seconds,
            signing_seconds=state.signing_seconds,
            total_seconds=seconds_between(state.uploaded_at, state.finished_at),
        ),
        interface_diff=None
        if stored.interface_diff is None
        else interface_diff_detail(stored.interface_diff),
        pickle_scan=None
        if state.pickle_scan is None
        else PickleScanDetail.model_validate(state.pickle_scan),
        downloads=stored.downloads,
        trace_id=stored.trace_id,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


def model_deletion(deleted: DeletedModel) -> ModelDeletion:
    return ModelDeletion(
        owner=deleted.owner,
        name=deleted.name,
        kind="solution" if deleted.kind == "solution" else "model",
        versions=list(deleted.versions),
        deleted_by=deleted.deleted_by,
        deleted_at=deleted.deleted_at,
    )
