"""What the catalog's internal API answers: the catalog serialises these, the gateway parses them.

The gateway's public `/v1` API shows the same shapes (nested `failure`, `image`, `interface`),
so its OpenAPI document describes them instead of bare objects. Adding a field here is enough
for both sides; parsing ignores fields it does not know, so a catalog deployed before the
gateway is harmless.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from modelbay_common.access import Visibility
from modelbay_common.contracts.origin import ModelOrigin
from modelbay_common.contracts.requirement_reasons import RequirementReasonsItem
from modelbay_common.contracts.system_packages import SystemPackageItem


class Category(StrEnum):
    """A model's category: a fixed list, so that browsing by category means something; `other`
    catches the rest. Shared so the gateway's OpenAPI shows the enum the catalog enforces."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    CLUSTERING = "clustering"
    NLP = "nlp"
    VISION = "vision"
    AUDIO = "audio"
    TIME_SERIES = "time-series"
    RECOMMENDATION = "recommendation"
    ANOMALY_DETECTION = "anomaly-detection"
    OTHER = "other"


__all__ = [
    "BundleInfo",
    "Category",
    "FacetValue",
    "Failure",
    "Image",
    "Interface",
    "InterfaceChangeItem",
    "InterfaceDiffDetail",
    "InterfaceDiffSummary",
    "InterfaceField",
    "InterfaceMethod",
    "ModelDeletion",
    "ModelDetail",
    "ModelKind",
    "ModelSummary",
    "ModelVisibility",
    "SearchFacets",
    "SearchItem",
    "SearchPage",
    "SearchSortName",
    "SolutionNodeItem",
    "Timings",
    "VersionDetail",
    "VersionStatusName",
    "VersionSummary",
]

VersionStatusName = Literal["uploaded", "resolving", "building", "ready", "failed"]
"""The values of the catalog's `VersionStatus` (a unit test keeps the two equal)."""

ModelKind = Literal["model", "solution"]
"""A version made from a model bundle, or a solution (a pipeline of model versions run by the
orchestrator, docs/solutions.md); a model's kind is its newest version's."""

_KIND = "`solution`: a pipeline of model versions (docs/solutions.md); else `model`"


class ModelSummary(BaseModel):
    """A model as search results and model pages show it."""

    owner: str
    name: str
    visibility: Visibility
    owner_org: str | None = Field(description="the owner's organisation, for `org` visibility")
    description: str
    category: str | None
    license: str | None
    tags: list[str]
    libraries: list[str] = Field(description="ML libraries the bundle declares")
    latest_version: int | None
    latest_status: VersionStatusName | None
    kind: ModelKind = Field(default="model", description=_KIND + "; the newest version's")
    published_version: int | None
    published_at: datetime | None
    published_by: str | None
    downloads: int = Field(description="downloads of every version and kind")
    rating_average: float | None = Field(
        default=None, description="mean stars (1 to 5), 2 decimals; null without ratings"
    )
    rating_count: int = Field(default=0, description="how many users rated it")
    favourites: int = Field(default=0, description="how many users starred it")
    views: int = Field(default=0, description="views of its page")
    created_at: datetime
    updated_at: datetime


class SearchItem(ModelSummary):
    rank: float | None = Field(description="text-search relevance; null without `q`")


class FacetValue(BaseModel):
    value: str
    count: int = Field(description="matching models the caller may see with this value")


class SearchFacets(BaseModel):
    """Counts over every model matching the search (not only the page), most frequent first
    (at most 20 values each). Each facet ignores its own filter, so the other values of a
    chosen facet stay visible with the count they would give."""

    category: list[FacetValue] = []
    library: list[FacetValue] = []
    license: list[FacetValue] = []
    owner: list[FacetValue] = []
    kind: list[FacetValue] = Field(default=[], description="`model` and `solution`")
    status: list[FacetValue] = Field(
        default=[], description="latest status of the caller's own models only"
    )


SearchSortName = Literal["relevance", "downloads", "rating", "recent"]


class SearchPage(BaseModel):
    items: list[SearchItem]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")
    sort: SearchSortName = Field(
        default="recent", description="the order of this page (relevance needs `q`)"
    )
    facets: SearchFacets | None = Field(default=None, description="with `facets=true` only")


class InterfaceChangeItem(BaseModel):
    """One change of a version's interface (docs/interface-diff.md lists the kinds)."""

    kind: str = Field(description="method_added, field_removed, field_retyped, ...")
    classification: Literal["breaking", "additive"]
    method: str
    direction: Literal["input", "output"] | None
    path: str | None = Field(description="the field's path: `detail.score`, `all[].label`")
    before: str | None
    after: str | None
    message: str = Field(description="for people: `classify: input field x (double, 4) removed`")


class InterfaceDiffSummary(BaseModel):
    compared_to: int = Field(description="the earlier version the interface was compared with")
    breaking: bool
    breaking_changes: int
    additive_changes: int


class InterfaceDiffDetail(InterfaceDiffSummary):
    changes: list[InterfaceChangeItem]


class VersionSummary(BaseModel):
    version: int
    status: VersionStatusName
    kind: ModelKind = Field(default="model", description=_KIND)
    failure_reason: str | None
    image_ref: str | None
    image_digest: str | None
    interface_diff: InterfaceDiffSummary | None = Field(
        default=None,
        description="what changed since the previous version with a known interface; null for "
        "the first, or while the descriptor set is unknown",
    )
    downloads: dict[str, int] = Field(description="downloads per artifact kind")
    created_at: datetime
    updated_at: datetime


class ModelDetail(ModelSummary):
    versions: list[VersionSummary]
    origin: ModelOrigin | None = Field(
        default=None,
        description="the peer this model is mirrored from (read-only here); null for a model "
        "of this instance (docs/federation.md)",
    )


class Failure(BaseModel):
    reason: str = Field(description="why the version failed, in actionable words")
    detail: str | None = Field(description="pip's message, the build log tail or the mismatch")
    sample: dict[str, Any] | None = Field(
        description="the failing sample: method, sample_index, expected, actual"
    )


class Image(BaseModel):
    ref: str = Field(description="registry reference, or `local-process://...` (no image)")
    digest: str | None
    size: int | None
    pull_command: str | None = Field(
        description="`docker pull` line; null for a model served as a local process (no image)"
    )
    pinned_pull_command: str | None = Field(description="pulls exactly the validated image")
    sbom_uri: str | None
    dependency_layer_cached: bool | None
    provenance_uri: str | None = Field(
        default=None,
        description="blob key of the signed (DSSE) in-toto provenance; null when not signed",
    )
    provenance_sha256: str | None = Field(default=None, description="SHA-256 of that envelope")


class InterfaceField(BaseModel):
    name: str
    type: str = ""


class InterfaceMethod(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    description: str = ""
    input_message: str = ""
    output_message: str = ""
    inputs: list[InterfaceField] = []
    outputs: list[InterfaceField] = []


class Interface(BaseModel):
    methods: list[InterfaceMethod]
    proto_key: str = Field(description="blob-store key of model.proto (docs/pipeline.md)")
    openapi_key: str = Field(description="blob-store key of openapi.json")


class BundleInfo(BaseModel):
    uri: str
    sha256: str | None
    size: int | None


class Timings(BaseModel):
    uploaded_at: datetime | None
    resolved_at: datetime | None
    finished_at: datetime | None = Field(description="when it became ready or failed")
    resolve_seconds: float | None
    build_seconds: float | None
    validation_seconds: float | None
    signing_seconds: float | None = Field(
        default=None, description="signing the image and its provenance; null when not signed"
    )
    total_seconds: float | None = Field(description="from upload to ready/failed")


class PickleScanDetail(BaseModel):
    """What the scan of the bundle's pickle found at upload, without unpickling (docs/trust.md)."""

    status: Literal["clean", "flagged", "blocked"] = Field(
        description="clean: only the standard library's safe set, the platform and the declared "
        "packages; flagged: something else, or a blocked global an administrator allowed"
    )
    globals: list[str] = Field(description="every `module.name` the pickle imports")
    flagged: list[str] = Field(default_factory=list)
    blocked: list[str] = Field(default_factory=list)
    allowed: list[str] = Field(
        default_factory=list, description="blocked globals an administrator allowed"
    )


class SolutionNodeItem(BaseModel):
    """One node of a solution version: the model version it runs (links are the gateway's)."""

    node: str = Field(description="the node's id in the solution document")
    model: str = Field(description="`owner/name:version` of the model version it runs")
    owner: str
    name: str
    version: int


class VersionDetail(BaseModel):
    """One version: its state, why it failed, its image, interface, lock and timings."""

    owner: str
    name: str
    version: int
    status: VersionStatusName
    kind: ModelKind = Field(default="model", description=_KIND)
    nodes: list[SolutionNodeItem] = Field(
        default_factory=list, description="a solution's nodes in document order; empty for a model"
    )
    failure: Failure | None
    image: Image | None
    interface: Interface
    python_version: str | None
    requirements: list[str]
    requirement_reasons: list[RequirementReasonsItem] = Field(
        default_factory=list,
        description="each requirement, in order, with why it was inferred (what the SDK traced, "
        "or `declared`); empty for a version pushed before reasons were recorded",
    )
    lock: list[str]
    lock_hash: str | None
    wheelhouse_reused: bool | None
    system_packages: list[SystemPackageItem] = Field(
        default_factory=list,
        description="the Debian packages the image got (inferred from the wheels' ELF headers "
        "or declared) and why; empty before resolution or when none was needed",
    )
    bundle: BundleInfo | None
    uploaded_by: str | None
    description: str | None
    license: str | None
    timings: Timings
    interface_diff: InterfaceDiffDetail | None = Field(
        default=None,
        description="every interface change since the previous version with a known interface, "
        "each breaking or additive; null for the first version or an unknown descriptor set",
    )
    pickle_scan: PickleScanDetail | None = Field(
        default=None, description="the scan of the pickle at upload; null for a solution"
    )
    downloads: dict[str, int] = Field(description="downloads per artifact kind")
    origin: ModelOrigin | None = Field(
        default=None,
        description="the peer version this one is mirrored from, with the mirror's state; "
        "null for a version of this instance (docs/federation.md)",
    )
    trace_id: str | None = Field(
        default=None,
        description="the OpenTelemetry trace id (32 hex digits) of the push that made this "
        "version, to find its trace in Jaeger/Tempo; null when tracing was off",
    )
    created_at: datetime
    updated_at: datetime


class ModelVisibility(BaseModel):
    """For the gateway's event filter: it applies `access.can_see` with the subscriber."""

    owner: str
    name: str
    visibility: Visibility
    owner_org: str | None


class ModelDeletion(BaseModel):
    """The answer of deleting a model: what was deleted, by whom, when (docs/catalog.md)."""

    owner: str
    name: str
    kind: ModelKind
    versions: list[int] = Field(description="every version deleted with it")
    deleted_by: str
    deleted_at: datetime
