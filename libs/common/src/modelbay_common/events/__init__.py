"""Event contracts of the model pipeline, wrapped in a CloudEvents 1.0 envelope.

Every event a Modelbay service emits is one of the frozen classes of this package. On the wire it
travels as a CloudEvents 1.0 *structured-mode* JSON document (`application/cloudevents+json`)::

    {"specversion": "1.0", "id": "<uuid4>", "source": "/modelbay/onboarding",
     "type": "modelbay.model.uploaded.v1", "time": "2025-01-01T12:00:00Z",
     "subject": "alice/iris/3", "datacontenttype": "application/json", "data": {...}}

The payload classes live by topic in this package (`pipeline`, `community`, `publication`,
`organisations`, `federation`, on the bases of `base`); this module holds the one registry
(`EVENT_CLASSES`), the envelope and the decoding, and re-exports every class.

Compatibility rules (see docs/events.md): adding a field to `data` is not breaking, because
consumers ignore fields they do not know; removing or re-typing a field is breaking and needs a
new `...v2` type published alongside the old one until every consumer has moved.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from modelbay_common.events.base import (
    Event,
    EventPayload,
)
from modelbay_common.events.community import (
    CommentDeleted,
    CommentEdited,
    CommentHidden,
    CommentPosted,
    ModelFavourited,
    ModelRated,
    ModelRatingRemoved,
    ModelUnfavourited,
)
from modelbay_common.events.federation import (
    MirroredArtifact,
    MirrorFailed,
    MirrorRequested,
    PeerSynced,
    VersionMirrored,
)
from modelbay_common.events.organisations import (
    OrgCreated,
    OrgEvent,
    OrgMemberAdded,
    OrgMemberRemoved,
    OrgMemberRoleChanged,
)
from modelbay_common.events.pipeline import (
    MAX_EVENT_DESCRIPTOR_SET_BYTES,
    DependenciesResolved,
    DependencyResolutionFailed,
    DependencyResolutionStarted,
    ImageBuildFailed,
    ImageBuilt,
    InterfaceField,
    MethodInterface,
    ModelUploaded,
    PickleScan,
    Published,
    SystemPackage,
    ValidationFailed,
)
from modelbay_common.events.publication import (
    AliasMoved,
    AliasRemoved,
    ModelDeleted,
    PublishApproved,
    PublishDeclined,
    PublishRequested,
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
    "MirrorFailed",
    "MirrorRequested",
    "MirroredArtifact",
    "ModelDeleted",
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
    "PeerSynced",
    "PickleScan",
    "PublishApproved",
    "PublishDeclined",
    "PublishRequested",
    "Published",
    "SystemPackage",
    "UnknownEventTypeError",
    "ValidationFailed",
    "VersionMirrored",
    "envelope",
    "event_class_for",
    "parse_event",
]

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"

E = TypeVar("E", bound="EventPayload")


class EventDecodeError(ValueError):
    """A message could not be read as a Modelbay event (not JSON, or not a valid envelope)."""


class UnknownEventTypeError(EventDecodeError):
    """The envelope's `type` is not one this version of Modelbay knows."""

    def __init__(self, event_type: object) -> None:
        known = ", ".join(sorted(EVENT_CLASSES))
        super().__init__(f"unknown event type {event_type!r}; known types: {known}")
        self.event_type = event_type


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
        ModelDeleted,
        OrgCreated,
        OrgMemberAdded,
        OrgMemberRoleChanged,
        OrgMemberRemoved,
        MirrorRequested,
        VersionMirrored,
        MirrorFailed,
        PeerSynced,
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
    # The CloudEvents distributed-tracing extension (W3C Trace Context): the span that emitted
    # the event, so its consumers' spans join the same trace (modelbay_common.tracing). Left
    # out of the JSON when absent (tracing off).
    traceparent: str | None = Field(default=None, exclude_if=lambda value: value is None)
    tracestate: str | None = Field(default=None, exclude_if=lambda value: value is None)

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
