"""Events of a version's way through the pipeline: upload, resolution, build, validation,
publication (docs/events.md, "Types")."""

from __future__ import annotations

import base64
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from modelbay_common.events.base import Event

# A model's descriptor set is a few kilobytes; one this large is not worth carrying in an event.
MAX_EVENT_DESCRIPTOR_SET_BYTES = 256 * 1024
# Why a requirement is there takes a line or two on the model page; more is noise in an event.
MAX_REASONS_PER_REQUIREMENT = 5
MAX_REASON_CHARS = 200


class InterfaceField(BaseModel):
    """One field of a method's input or output message, as the catalog shows and searches it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1)
    type: str = ""  # human-readable, e.g. "float", "list[float]", "IrisIn"


class MethodInterface(BaseModel):
    """The signature of one model method (from the bundle manifest), without the samples."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1)
    description: str = ""
    input_message: str = ""
    output_message: str = ""
    inputs: tuple[InterfaceField, ...] = ()
    outputs: tuple[InterfaceField, ...] = ()


class PickleScan(BaseModel):
    """What onboarding's scan of the bundle's pickle found, without unpickling (docs/trust.md).

    `status`: `clean` (only the standard library's safe set, the platform and the declared
    packages), `flagged` (something outside those, or a blocked global an administrator allowed
    for this model: listed in `allowed`), `blocked` (never travels: such an upload is refused).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: Literal["clean", "flagged", "blocked"]
    globals: tuple[str, ...] = ()  # every `module.name` the pickle imports (`module.*`: whole)
    flagged: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()


class SystemPackage(BaseModel):
    """A Debian package a model image needs (docs/system-packages.md).

    `reasons` says why: `declared` (the contributor's `system_packages`), `<soname> for
    <distribution>` (found in a wheel's ELF `DT_NEEDED`), or `dependency of <package>`.
    `fetched` is False for a package the base image has (Debian's required packages and the
    base's recipe, with their dependencies), which the build never installs; the others travel
    in the `system_packages_uri` archive.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=2)
    version: str = ""
    reasons: tuple[str, ...] = ()
    fetched: bool = True


class SolutionNode(BaseModel):
    """One node of a solution version and the model version it runs."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    node: str = Field(min_length=1)
    model: str = Field(min_length=1)  # `owner/name:version`, as the solution document names it


class ModelUploaded(Event):
    """Sent by onboarding once a bundle was validated and stored, and a version number assigned.

    Starts the pipeline: the dependency resolver locks `requirements`; the catalog records the
    version as `uploaded` with its description and license.
    """

    type: ClassVar[str] = "modelbay.model.uploaded.v1"

    upload_id: str
    bundle_uri: str
    bundle_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bundle_size: int = Field(ge=0)
    python_version: str
    requirements: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    uploaded_by: str
    description: str | None = None
    license: str | None = None
    # The uploader's organisation (the gateway's X-Modelbay-Org); the catalog stores it on a new
    # model so that `org` visibility knows whose colleagues may see it.
    owner_org: str | None = None
    # Method signatures with their input/output field names: the catalog searches and shows them.
    interface: tuple[MethodInterface, ...] = ()
    # The bundle's serialized FileDescriptorSet, base64: the catalog diffs it with the previous
    # version's (docs/interface-diff.md). Omitted when larger than MAX_EVENT_DESCRIPTOR_SET_BYTES.
    descriptor_set: str | None = Field(
        default=None, max_length=4 * (MAX_EVENT_DESCRIPTOR_SET_BYTES // 3 + 1)
    )
    # The scan of the bundle's pickle; None from producers that predate scanning.
    pickle_scan: PickleScan | None = None
    # `solution` for a solution bundle (docs/solutions.md), with its nodes in document order: the
    # catalog marks the version and re-checks the nodes when its image is built.
    kind: Literal["model", "solution"] = "model"
    nodes: tuple[SolutionNode, ...] = ()
    # Debian packages the contributor declared (`Model(system_packages=...)`), names checked.
    system_packages: tuple[str, ...] = ()
    # Why each requirement is there, keyed by its canonical distribution name (`pillow`):
    # what the SDK traced (`traced object PIL.Image.Image`) or `declared`. Onboarding caps it
    # (docs/events.md): at most MAX_REASONS_PER_REQUIREMENT reasons of MAX_REASON_CHARS each.
    requirement_reasons: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @property
    def descriptor_set_bytes(self) -> bytes | None:
        return None if self.descriptor_set is None else base64.b64decode(self.descriptor_set)


class DependencyResolutionStarted(Event):
    """Sent by the onboarding resolver when it starts locking a version's requirements.

    The catalog moves the version from `uploaded` to `resolving`; nothing else depends on it.
    """

    type: ClassVar[str] = "modelbay.model.dependency_resolution_started.v1"


class DependenciesResolved(Event):
    """Sent by the onboarding resolver once the requirements are locked and a wheelhouse stored.

    The builder consumes it to build the image; `wheelhouse_reused` says whether a wheelhouse with
    the same `lock_hash` already existed (no download happened).
    """

    type: ClassVar[str] = "modelbay.model.dependencies_resolved.v1"

    bundle_uri: str
    bundle_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    python_version: str
    lock: tuple[str, ...]
    lock_hash: str
    wheelhouse_uri: str
    wheelhouse_reused: bool = False
    # Debian packages the image needs (declared, or found from the wheels' ELF headers) and the
    # blob key of the archive of their `.deb` files; None when no package has to be installed.
    system_packages: tuple[SystemPackage, ...] = ()
    system_packages_uri: str | None = None


class DependencyResolutionFailed(Event):
    """Sent by the onboarding resolver when the requirements cannot be locked or downloaded.

    Terminal: the catalog marks the version `failed` and shows `reason` and `detail`.
    """

    type: ClassVar[str] = "modelbay.model.dependency_resolution_failed.v1"

    reason: str
    detail: str = ""


class ImageBuilt(Event):
    """Sent by the builder once the image was built, validated against the samples and pushed.

    The catalog records the image and marks the version `ready`.
    """

    type: ClassVar[str] = "modelbay.model.image_built.v1"

    image_ref: str
    image_digest: str
    image_size: int = Field(ge=0)
    sbom_uri: str | None = None
    dependency_layer_cached: bool = False
    build_seconds: float = Field(ge=0)
    validation_seconds: float = Field(ge=0)
    # The signed (DSSE) in-toto provenance (`blob.keys.provenance_key`) and its SHA-256, and how
    # long signing took; None when the builder has no signing key (docs/trust.md).
    provenance_uri: str | None = None
    provenance_sha256: str | None = None
    signing_seconds: float | None = Field(default=None, ge=0)


class ImageBuildFailed(Event):
    """Sent by the builder when `docker build` or the registry push fails.

    Terminal: the catalog marks the version `failed`; `log_tail` holds the last build output lines.
    """

    type: ClassVar[str] = "modelbay.model.image_build_failed.v1"

    reason: str
    log_tail: str = ""


class ValidationFailed(Event):
    """Sent by the builder when the built image does not start or answers a sample wrongly.

    Terminal: the catalog marks the version `failed`. When a sample mismatched, `method`,
    `sample_index`, `expected` and `actual` say which one and how; `log_tail` holds the
    container's last log lines when it did not start or failed on a sample.
    """

    type: ClassVar[str] = "modelbay.model.validation_failed.v1"

    reason: str
    method: str | None = None
    sample_index: int | None = None
    expected: JsonValue = None
    actual: JsonValue = None
    # When the image did not start (or a sample made the server fail): the container's last
    # log lines, so the contributor sees the traceback.
    log_tail: str = ""


class Published(Event):
    """Sent by the catalog when the owner publishes a ready version (it becomes discoverable).

    External subscribers (webhooks, other platforms) use it to learn about new models.
    """

    type: ClassVar[str] = "modelbay.model.published.v1"

    visibility: Literal["public", "org", "private"]
    image_ref: str
    description: str = ""
    category: str = ""
    license: str | None = None
    published_by: str
