"""Mappings on a connection: which producer field feeds each consumer field.

A mapping `{consumer_field: producer_path}` turns a connection into a mapping step: consumer field
`c` takes the producer field at `mapping.get(c, c)`, a dotted path through singular message fields
(`detail.score`); producer fields nothing takes are dropped. Resolving the names is this module's
job; whether the types then fit is `compatibility`'s. `FieldMismatch` is the one explanation
shape both use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from modelbay_common.interface.describe import (
    FieldDescription,
    InterfaceDescription,
    MessageDescription,
    describe_descriptor_set,
)

__all__ = [
    "AppliedMapping",
    "ConnectionEnds",
    "FieldMismatch",
    "MappedField",
    "described",
    "resolve_mapping",
    "resolve_path",
]

_NOTHING = "(nothing)"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class FieldMismatch(_Frozen):
    producer: str | None
    """`detect.Out.score (double, field 2)`; `None` when no producer field is involved."""
    consumer: str | None
    """`rules.In.score (int64)`; the number is shown only when numbers are what differ."""
    reason: str
    explanation: str
    """`detect.Out.score (double, field 2) → rules.In.score (int64)`."""
    message: str
    """The explanation and the reason: what a person reads."""

    @classmethod
    def of(cls, producer: str | None, consumer: str | None, reason: str) -> FieldMismatch:
        explanation = f"{producer or _NOTHING} → {consumer or _NOTHING}"
        return cls(
            producer=producer,
            consumer=consumer,
            reason=reason,
            explanation=explanation,
            message=f"{explanation}: {reason}",
        )


class MappedField(_Frozen):
    consumer_field: str
    producer_path: str
    """Dotted path in the producer's message: `score`, `detail.score`."""


class AppliedMapping(_Frozen):
    """A mapping resolved against both messages: what the mapping step copies, what it drops."""

    fields: tuple[MappedField, ...]
    """Every consumer field that something feeds, in the consumer's field order."""
    dropped: tuple[str, ...]
    """Top-level producer fields nothing takes."""
    problems: tuple[FieldMismatch, ...]
    """Names that do not resolve and consumer fields nothing feeds."""


@dataclass(frozen=True)
class ConnectionEnds:
    """Both messages of a connection, resolved, with the labels explanations use."""

    producer: InterfaceDescription
    producer_message: MessageDescription
    producer_label: str
    consumer: InterfaceDescription
    consumer_message: MessageDescription
    consumer_label: str

    @classmethod
    def of(
        cls,
        producer: InterfaceDescription | bytes,
        producer_message: str,
        producer_node: str | None,
        consumer: InterfaceDescription | bytes,
        consumer_message: str,
        consumer_node: str | None,
    ) -> ConnectionEnds:
        produced, consumed = described(producer), described(consumer)
        output, input_ = produced.message(producer_message), consumed.message(consumer_message)
        return cls(
            produced,
            output,
            f"{producer_node or produced.model_label}.{output.display}",
            consumed,
            input_,
            f"{consumer_node or consumed.model_label}.{input_.display}",
        )


def resolve_mapping(sides: ConnectionEnds, mapping: Mapping[str, str]) -> AppliedMapping:
    """What `mapping` copies, drops and cannot resolve (rules: module `compatibility`)."""
    problems: list[FieldMismatch] = []
    for consumer_field, path in mapping.items():
        if sides.consumer_message.field_named(consumer_field) is None:
            problems.append(
                FieldMismatch.of(
                    f"{sides.producer_label}.{path}",
                    f"{sides.consumer_label}.{consumer_field}",
                    f"{sides.consumer_label} has no field {consumer_field!r} to map onto",
                )
            )
    fed: list[MappedField] = []
    for target in sides.consumer_message.fields:
        path = mapping.get(target.name, target.name)
        consumer_text = f"{sides.consumer_label}.{target.name} ({target.type_text})"
        source = resolve_path(sides.producer, sides.producer_message, path)
        if isinstance(source, FieldDescription):
            fed.append(MappedField(consumer_field=target.name, producer_path=path))
        elif target.name in mapping:
            problems.append(
                FieldMismatch.of(f"{sides.producer_label}.{path}", consumer_text, source)
            )
        else:
            problems.append(
                FieldMismatch.of(
                    None,
                    consumer_text,
                    f"no field of {sides.producer_label} is named {target.name!r}; map one onto it",
                )
            )
    taken = {m.producer_path.split(".", 1)[0] for m in fed}
    dropped = tuple(f.name for f in sides.producer_message.fields if f.name not in taken)
    return AppliedMapping(fields=tuple(fed), dropped=dropped, problems=tuple(problems))


def resolve_path(
    interface: InterfaceDescription, message: MessageDescription, path: str
) -> FieldDescription | str:
    """The producer field at a dotted `path`, or why there is none."""
    current, walked = message, list[str]()
    parts = path.split(".")
    for position, part in enumerate(parts):
        found = current.field_named(part)
        where = ".".join([message.display, *walked])
        if found is None:
            return f"{where} has no field {part!r}"
        walked.append(part)
        if position == len(parts) - 1:
            return found
        if found.type.kind != "message" or found.cardinality not in (
            "singular",
            "optional",
            "required",
        ):
            return (
                f"{'.'.join([message.display, *walked])} is {found.type_text}: a mapping picks "
                "only through singular message fields"
            )
        current = interface.message(found.type.name)
    return f"empty path {path!r}"


def described(interface: InterfaceDescription | bytes) -> InterfaceDescription:
    if isinstance(interface, InterfaceDescription):
        return interface
    return describe_descriptor_set(interface)
