"""Event contracts of the model pipeline, wrapped in a CloudEvents 1.0 envelope.

Every event a Modelbay service emits is one of the frozen classes below. On the wire it travels
as a CloudEvents 1.0 *structured-mode* JSON document (`application/cloudevents+json`)::

    {"specversion": "1.0", "id": "<uuid4>", "source": "/modelbay/onboarding",
     "type": "modelbay.model.uploaded.v1", "time": "2025-01-01T12:00:00Z",
     "subject": "alice/iris/3", "datacontenttype": "application/json", "data": {...}}

Compatibility rules (see docs/events.md): adding a field to `data` is not breaking, because
consumers ignore fields they do not know; removing or re-typing a field is breaking and needs a
new `...v2` type published alongside the old one until every consumer has moved.
"""

from __future__ import annotations

import base64
import builtins
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "EVENT_CLASSES",
    "MAX_EVENT_DESCRIPTOR_SET_BYTES",
    "AliasMoved",
    "AliasRemoved",
    "CommentDeleted",
    "CommentEdited",
    "CommentHidden",
    "CommentPosted",
    "DependenciesResolved",
    "DependencyResolutionFailed",
    "DependencyResolutionStarted",
    "Envelope",
    "Event",
    "EventDecodeError",
    "EventPayload",
    "ImageBuildFailed",
    "ImageBuilt",
    "InterfaceField",
    "MethodInterface",
    "ModelFavourited",
    "ModelRated",
    "ModelRatingRemoved",
    "ModelUnfavourited",
    "ModelUploaded",
    "OrgCreated",
    "OrgEvent",
    "OrgMemberAdded",
    "OrgMemberRemoved",
    "OrgMemberRoleChanged",
    "PublishApproved",
    "PublishDeclined",
    "PublishRequested",
    "Published",
    "UnknownEventTypeError",
    "ValidationFailed",
    "envelope",
    "event_class_for",
    "parse_event",
]

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"
# A model's descriptor set is a few kilobytes; one this large is not worth carrying in an event.
MAX_EVENT_DESCRIPTOR_SET_BYTES = 256 * 1024

E = TypeVar("E", bound="EventPayload")


class EventDecodeError(ValueError):
    """A message could not be read as a Modelbay event (not JSON, or not a valid envelope)."""


class UnknownEventTypeError(EventDecodeError):
    """The envelope's `type` is not one this version of Modelbay knows."""

    def __init__(self, event_type: object) -> None:
        known = ", ".join(sorted(EVENT_CLASSES))
        super().__init__(f"unknown event type {event_type!r}; known types: {known}")
        self.event_type = event_type


class EventPayload(BaseModel):
    """Base of every event payload: a model's (`Event`) or an organisation's (`OrgEvent`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: ClassVar[str]

    @property
    def subject(self) -> str:
        """The CloudEvents `subject`: what the event is about."""
        raise NotImplementedError


class Event(EventPayload):
    """Base of the payloads about a model: which model version the event is about."""

    owner: str = Field(min_length=1)
    name: str = Field(min_length=1)
    version: int = Field(ge=1)

    @property
    def subject(self) -> str:
        """The CloudEvents `subject`: `owner/name/version`."""
        return f"{self.owner}/{self.name}/{self.version}"


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


# -- community: ratings, comments, favourites (docs/events.md, "Community events") --------------
# Ratings and favourites belong to a model, comments to a version. Every event still names a
# version (the envelope's subject is owner/name/version): the version rated, the version a
# comment is on, and for a favourite the model's newest version at the time.


class ModelRated(Event):
    """Sent by the catalog when a user rates a model for the first time or changes their rating.

    `previous_stars` is null for a first rating. `rating_count` and `rating_average` are the
    model's summary after this change. `version` is the version the user rated.
    """

    type: ClassVar[str] = "modelbay.model.rated.v1"

    rated_by: str
    stars: int = Field(ge=1, le=5)
    previous_stars: int | None = Field(default=None, ge=1, le=5)
    review: str | None = None
    rating_count: int = Field(ge=0)
    rating_average: float | None = None


class ModelRatingRemoved(Event):
    """Sent by the catalog when a rating is removed, by its author or by an administrator.

    `stars` is the removed rating; the summary fields are the model's after the removal.
    """

    type: ClassVar[str] = "modelbay.model.rating_removed.v1"

    rated_by: str
    stars: int = Field(ge=1, le=5)
    removed_by: str
    rating_count: int = Field(ge=0)
    rating_average: float | None = None


class CommentPosted(Event):
    """Sent by the catalog when a user comments on a version, or replies to a comment.

    `parent_id` is the comment replied to (null for a new thread).
    """

    type: ClassVar[str] = "modelbay.model.comment_posted.v1"

    comment_id: int = Field(ge=1)
    parent_id: int | None = None
    author: str
    body: str


class CommentEdited(Event):
    """Sent by the catalog when the author of a comment changes its text."""

    type: ClassVar[str] = "modelbay.model.comment_edited.v1"

    comment_id: int = Field(ge=1)
    author: str
    body: str


class CommentDeleted(Event):
    """Sent by the catalog when a comment is deleted, by its author or by an administrator.

    Its text is gone; when it has replies, a placeholder keeps their place in the thread.
    """

    type: ClassVar[str] = "modelbay.model.comment_deleted.v1"

    comment_id: int = Field(ge=1)
    author: str
    deleted_by: str


class CommentHidden(Event):
    """Sent by the catalog when an administrator hides a comment (`hidden` true) or shows a
    hidden one again (`hidden` false); `reason` is the moderator's note, if any."""

    type: ClassVar[str] = "modelbay.model.comment_hidden.v1"

    comment_id: int = Field(ge=1)
    author: str
    hidden: bool
    moderator: str
    reason: str | None = None


class ModelFavourited(Event):
    """Sent by the catalog when a user stars a model they had not starred.

    `favourites` is how many users have starred the model now; `version` is its newest version.
    """

    type: ClassVar[str] = "modelbay.model.favourited.v1"

    favourited_by: str
    favourites: int = Field(ge=0)


class ModelUnfavourited(Event):
    """Sent by the catalog when a user removes their star from a model.

    `favourites` is how many users have starred the model now; `version` is its newest version.
    """

    type: ClassVar[str] = "modelbay.model.unfavourited.v1"

    favourited_by: str
    favourites: int = Field(ge=0)


# -- curation: aliases and publish approval (docs/events.md, "Curation events") ---------------


class AliasMoved(Event):
    """Sent by the catalog when a maintainer points an alias (`stable`, ...) at a version.

    `version` is the version the alias names now, `previous_version` the one it named before
    (null when the alias is new). `latest` is never sent: it always names the newest ready
    version by itself.
    """

    type: ClassVar[str] = "modelbay.model.alias_moved.v1"

    alias: str = Field(min_length=1)
    previous_version: int | None = Field(default=None, ge=1)
    moved_by: str


class AliasRemoved(Event):
    """Sent by the catalog when a maintainer removes an alias; `version` is the one it named."""

    type: ClassVar[str] = "modelbay.model.alias_removed.v1"

    alias: str = Field(min_length=1)
    removed_by: str


class PublishRequested(Event):
    """Sent by the catalog when a publication to `public` waits for a publisher's approval
    (the catalog's `PUBLISH_APPROVAL=required`); `version` is the version to publish."""

    type: ClassVar[str] = "modelbay.model.publish_requested.v1"

    request_id: int = Field(ge=1)
    visibility: Literal["public", "org", "private"]
    requested_by: str


class PublishApproved(Event):
    """Sent by the catalog when a publisher approves a publish request; `Published` follows in
    the same transaction."""

    type: ClassVar[str] = "modelbay.model.publish_approved.v1"

    request_id: int = Field(ge=1)
    requested_by: str
    approved_by: str
    comment: str | None = None


class PublishDeclined(Event):
    """Sent by the catalog when a publisher declines a publish request, saying why."""

    type: ClassVar[str] = "modelbay.model.publish_declined.v1"

    request_id: int = Field(ge=1)
    requested_by: str
    declined_by: str
    comment: str


# -- organisations (docs/events.md, "Organisation events") -------------------------------------


class OrgEvent(EventPayload):
    """Base of the payloads about an organisation (the gateway keeps them); no model version."""

    org: str = Field(min_length=1)

    @property
    def subject(self) -> str:
        """The CloudEvents `subject`: `orgs/<org>`."""
        return f"orgs/{self.org}"


class OrgCreated(OrgEvent):
    """Sent by the gateway when a user creates an organisation (they become its first owner)."""

    type: ClassVar[str] = "modelbay.org.created.v1"

    created_by: str


class OrgMemberAdded(OrgEvent):
    """Sent by the gateway when an owner of the organisation (or an administrator) adds a
    member with a role."""

    type: ClassVar[str] = "modelbay.org.member_added.v1"

    member: str
    role: Literal["owner", "maintainer", "reader"]
    added_by: str


class OrgMemberRoleChanged(OrgEvent):
    """Sent by the gateway when a member's role in the organisation changes."""

    type: ClassVar[str] = "modelbay.org.member_role_changed.v1"

    member: str
    role: Literal["owner", "maintainer", "reader"]
    previous_role: Literal["owner", "maintainer", "reader"]
    changed_by: str


class OrgMemberRemoved(OrgEvent):
    """Sent by the gateway when a member leaves the organisation or is removed by an owner."""

    type: ClassVar[str] = "modelbay.org.member_removed.v1"

    member: str
    role: Literal["owner", "maintainer", "reader"]
    removed_by: str


EVENT_CLASSES: Mapping[str, type[EventPayload]] = {
    cls.type: cls
    for cls in (
        ModelUploaded,
        DependencyResolutionStarted,
        DependenciesResolved,
        DependencyResolutionFailed,
        ImageBuilt,
        ImageBuildFailed,
        ValidationFailed,
        Published,
        ModelRated,
        ModelRatingRemoved,
        CommentPosted,
        CommentEdited,
        CommentDeleted,
        CommentHidden,
        ModelFavourited,
        ModelUnfavourited,
        AliasMoved,
        AliasRemoved,
        PublishRequested,
        PublishApproved,
        PublishDeclined,
        OrgCreated,
        OrgMemberAdded,
        OrgMemberRoleChanged,
        OrgMemberRemoved,
    )
}


def event_class_for(event_type: str) -> type[EventPayload]:
    """The payload class of `event_type`; raises UnknownEventTypeError for anything else."""
    try:
        return EVENT_CLASSES[event_type]
    except KeyError:
        raise UnknownEventTypeError(event_type) from None


class Envelope(BaseModel):
    """A CloudEvents 1.0 envelope carrying one Modelbay event in `data`.

    Validating a mapping picks the payload class from `type` (the discriminator), so
    `Envelope.model_validate(json.loads(raw)).data` is e.g. a `ModelUploaded`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str
    time: datetime
    subject: str
    datacontenttype: Literal["application/json"] = "application/json"
    data: SerializeAsAny[EventPayload]

    @model_validator(mode="before")
    @classmethod
    def _payload_class_from_type(cls, raw: Any) -> Any:
        if isinstance(raw, Mapping) and isinstance(raw.get("data"), Mapping):
            payload_class = event_class_for(raw.get("type"))  # type: ignore[arg-type]
            return {**raw, "data": payload_class.model_validate(raw["data"])}
        return raw

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a UTC offset (RFC 3339)")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _type_matches_payload(self) -> Envelope:
        if self.data.type != self.type:
            raise ValueError(f"type {self.type!r} does not match payload {self.data.type!r}")
        return self

    def event_as(self, event_class: builtins.type[E]) -> E:
        """The payload as `event_class`; raises TypeError when the envelope holds another type.

        Handlers subscribed to one type use it to get a precisely typed payload.
        """
        if not isinstance(self.data, event_class):
            raise TypeError(f"expected {event_class.type}, got {self.type}")
        return self.data

    def to_json(self) -> bytes:
        """The structured-mode JSON body sent on the wire."""
        return self.model_dump_json().encode()


def envelope(
    event: EventPayload,
    *,
    source: str,
    event_id: str | None = None,
    time: datetime | None = None,
) -> Envelope:
    """Wrap `event` in a new envelope with a fresh uuid4 id and the current UTC time.

    `source` names the producing service, e.g. `/modelbay/onboarding`.
    """
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=event.type,
        time=time or datetime.now(UTC),
        subject=event.subject,
        data=event,
    )


def parse_event(raw: bytes | str | Mapping[str, Any]) -> Envelope:
    """Read a structured-mode CloudEvent into an Envelope with a typed payload.

    Raises UnknownEventTypeError for a type this code does not know and EventDecodeError for
    anything that is not a valid envelope; both say what is wrong.
    """
    document: object
    if isinstance(raw, bytes | str):
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise EventDecodeError(f"event is not valid JSON: {exc}") from None
    else:
        document = raw
    if not isinstance(document, Mapping):
        raise EventDecodeError("event must be a JSON object (CloudEvents structured mode)")
    if "type" not in document:
        raise EventDecodeError("event has no 'type' attribute")
    event_class_for(document["type"])  # unknown types fail here with the list of known ones
    try:
        return Envelope.model_validate(document)
    except ValidationError as exc:
        raise EventDecodeError(f"invalid {document['type']} event: {exc}") from None
