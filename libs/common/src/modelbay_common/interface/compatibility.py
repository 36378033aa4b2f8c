"""Can a producer's output message feed a consumer's input message? Decided at definition time.

A solution connects one node's output to the next node's input. The orchestrator passes the
producer's protobuf bytes on unchanged (a *direct* connection), or, when the connection carries a
mapping `{consumer_field: producer_field_path}`, builds the consumer's message field by field.

**Direct connection** (no mapping): every field pairs with a field of the same name *and* number,
with the same cardinality (singular / optional / required / repeated / map) and the same type:
scalars identical, map keys identical, nested messages compatible by this same rule (recursively,
each pair of messages once, so recursive types terminate), enums compatible when every value
the producer can send exists in the consumer's enum with the same number and member name.
No field may be left over on either side.

**Mapped connection**: consumer field `c` takes `mapping.get(c, c)` from the producer, a dotted
path through singular message fields (`detail.score`); producer fields nobody takes are dropped
(that is how a mapping *picks*). Each taken field must have the consumer field's cardinality and
type (nested contents by the direct rule); top-level numbers do not matter, the mapping step
re-encodes. A consumer field nothing feeds is refused: proto3 would silently read its default.

**Against the Acumos paper's rule** (same field count, per tag the same type and label, names
ignored), implemented in `meets_paper_rule` as the floor:

- stricter: names must match in a direct connection (Modelbay's JSON is keyed by field names and
  refuses unknown ones, and a same-numbered field under another name is usually another meaning:
  renaming takes an explicit mapping); cardinality distinguishes map from repeated and proto3
  `optional` (presence) from singular, which one proto label conflates; enum member names must
  agree per number.
- looser: an enum consumer may know *more* values than the producer sends (every value sent is
  understood); message *type* names are ignored, like field names, only structure counts; and a
  mapped connection may rename and drop fields, which the paper could only do with an extra model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from modelbay_common.interface.describe import (
    FieldDescription,
    InterfaceDescription,
    MessageDescription,
    MethodDescription,
)
from modelbay_common.interface.mapping import (
    AppliedMapping,
    ConnectionEnds,
    FieldMismatch,
    MappedField,
    described,
    resolve_mapping,
    resolve_path,
)
from modelbay_common.interface.paper_rule import meets_paper_rule

__all__ = [
    "AppliedMapping",
    "ConnectionCheck",
    "FieldMismatch",
    "MappedField",
    "apply_mapping",
    "check_connection",
    "check_method_connection",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ConnectionCheck(_Frozen):
    producer: str
    consumer: str
    mapping: dict[str, str] | None
    compatible: bool
    meets_paper_rule: bool
    """Whether the Acumos paper's rule alone would accept the two messages (informative)."""
    mismatches: tuple[FieldMismatch, ...]
    applied: AppliedMapping | None = None

    def explain(self) -> str:
        """`detect.Out → rules.In: compatible`, or one line per mismatching field."""
        head = f"{self.producer} → {self.consumer}"
        if self.compatible:
            return f"{head}: compatible"
        return "\n".join([f"{head}: incompatible", *(f"  {m.message}" for m in self.mismatches)])


def check_connection(
    producer: InterfaceDescription | bytes,
    producer_message: str,
    consumer: InterfaceDescription | bytes,
    consumer_message: str,
    *,
    mapping: Mapping[str, str] | None = None,
    producer_node: str | None = None,
    consumer_node: str | None = None,
) -> ConnectionCheck:
    """Check that `producer_message` can feed `consumer_message` (rules in the module docstring).

    Messages are named fully or relative to their package. Nodes label the explanation
    (`detect.Out.score`); they default to each model's name. Raises `KeyError` for a message the
    interface does not declare and `InterfaceDescriptionError` for bytes that are no descriptor set.
    """
    sides = ConnectionEnds.of(
        producer, producer_message, producer_node, consumer, consumer_message, consumer_node
    )
    comparer = _Comparer(sides.producer, sides.consumer)
    applied = None
    if mapping is None:
        comparer.messages(
            sides.producer_message,
            sides.consumer_message,
            sides.producer_label,
            sides.consumer_label,
        )
    else:
        applied = resolve_mapping(sides, mapping)
        comparer.mismatches.extend(applied.problems)
        for mapped in applied.fields:
            source = resolve_path(sides.producer, sides.producer_message, mapped.producer_path)
            target = sides.consumer_message.field_named(mapped.consumer_field)
            if isinstance(source, FieldDescription) and target is not None:
                comparer.fields(
                    source,
                    target,
                    _parent(sides.producer_label, mapped.producer_path),
                    sides.consumer_label,
                    by_name=False,
                )
    return ConnectionCheck(
        producer=sides.producer_label,
        consumer=sides.consumer_label,
        mapping=dict(mapping) if mapping is not None else None,
        compatible=not comparer.mismatches,
        meets_paper_rule=meets_paper_rule(
            sides.producer, sides.producer_message, sides.consumer, sides.consumer_message
        ),
        mismatches=tuple(comparer.mismatches),
        applied=applied,
    )


def check_method_connection(
    producer: InterfaceDescription | bytes,
    producer_method: str,
    consumer: InterfaceDescription | bytes,
    consumer_method: str,
    *,
    mapping: Mapping[str, str] | None = None,
    producer_node: str | None = None,
    consumer_node: str | None = None,
) -> ConnectionCheck:
    """`check_connection` from `producer_method`'s output to `consumer_method`'s input."""
    produced, consumed = described(producer), described(consumer)
    return check_connection(
        produced,
        _method(produced, producer_method).output_message,
        consumed,
        _method(consumed, consumer_method).input_message,
        mapping=mapping,
        producer_node=producer_node,
        consumer_node=consumer_node,
    )


def apply_mapping(
    producer: InterfaceDescription | bytes,
    producer_message: str,
    consumer: InterfaceDescription | bytes,
    consumer_message: str,
    mapping: Mapping[str, str],
    *,
    producer_node: str | None = None,
    consumer_node: str | None = None,
) -> AppliedMapping:
    """Resolve `mapping` (`{consumer_field: producer_path}`): which producer field feeds each
    consumer field (unmapped consumer fields take the same-named producer field), which producer
    fields are dropped, and which names do not resolve. Types are checked by `check_connection`."""
    sides = ConnectionEnds.of(
        producer, producer_message, producer_node, consumer, consumer_message, consumer_node
    )
    return resolve_mapping(sides, mapping)


@dataclass
class _Comparer:
    producer: InterfaceDescription
    consumer: InterfaceDescription
    mismatches: list[FieldMismatch] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def messages(
        self, output: MessageDescription, input_: MessageDescription, p_label: str, c_label: str
    ) -> None:
        """The direct rule: every field paired by name and number, nothing left over."""
        if (output.full_name, input_.full_name) in self._seen:
            return  # being compared further up: assume compatible (recursive types)
        self._seen.add((output.full_name, input_.full_name))
        pairs = [(p, c) for p in output.fields if (c := input_.field_named(p.name)) is not None]
        left_p = [p for p in output.fields if input_.field_named(p.name) is None]
        left_c = [c for c in input_.fields if output.field_named(c.name) is None]
        for p in list(left_p):
            c = next((c for c in left_c if c.number == p.number), None)
            if c is not None:
                pairs.append((p, c))
                left_p.remove(p)
                left_c.remove(c)
        for p, c in sorted(pairs, key=lambda pair: pair[1].number):
            self.fields(p, c, p_label, c_label, by_name=True)
        for p in left_p:
            self.mismatches.append(
                FieldMismatch.of(
                    _field_text(p_label, p, number=True),
                    None,
                    f"{c_label} has no field named {p.name!r} or numbered {p.number}; "
                    "a mapping can drop it",
                )
            )
        for c in left_c:
            self.mismatches.append(
                FieldMismatch.of(
                    None,
                    _field_text(c_label, c, number=True),
                    f"no field of {p_label} feeds it; a mapping can rename one onto it",
                )
            )

    def fields(
        self,
        p: FieldDescription,
        c: FieldDescription,
        p_label: str,
        c_label: str,
        *,
        by_name: bool,
    ) -> None:
        """One pair; `by_name`: a direct connection, where names and numbers count too."""
        reasons = []
        if by_name and p.name != c.name:
            reasons.append(f"names differ; map {c.name} ← {p.name} explicitly")
        numbered = by_name and p.number != c.number
        if numbered:
            reasons.append(f"field numbers differ ({p.number} ≠ {c.number})")
        if p.cardinality != c.cardinality:
            reasons.append(f"cardinality differs ({p.cardinality} ≠ {c.cardinality})")
        if (
            p.type.kind != c.type.kind
            or (p.type.is_scalar and p.type.name != c.type.name)
            or ((p.key_type and p.key_type.name) != (c.key_type and c.key_type.name))
        ):
            reasons.append("types differ")
        if reasons:
            self.mismatches.append(
                FieldMismatch.of(
                    _field_text(p_label, p, number=True),
                    _field_text(c_label, c, number=numbered),
                    "; ".join(reasons),
                )
            )
            return
        mark = {"repeated": "[]", "map": "{}"}.get(p.cardinality, "")
        if p.type.kind == "message":
            self.messages(
                self.producer.message(p.type.name),
                self.consumer.message(c.type.name),
                f"{p_label}.{p.name}{mark}",
                f"{c_label}.{c.name}{mark}",
            )
        elif p.type.kind == "enum":
            self._enums(p, c, p_label, c_label)

    def _enums(self, p: FieldDescription, c: FieldDescription, p_label: str, c_label: str) -> None:
        sent, understood = self.producer.enum(p.type.name), self.consumer.enum(c.type.name)
        problems = []
        for value in sent.values:
            match = understood.value_numbered(value.number)
            if match is None:
                problems.append(
                    f"{value.member} ({value.number}) is not a value of {c.type.display}"
                )
            elif match.member != value.member:
                problems.append(
                    f"value {value.number} is {value.member} here, {match.member} there"
                )
        if problems:
            self.mismatches.append(
                FieldMismatch.of(
                    _field_text(p_label, p, number=True),
                    _field_text(c_label, c, number=False),
                    "enum values differ: " + "; ".join(problems),
                )
            )


def _field_text(label: str, subject: FieldDescription, *, number: bool) -> str:
    shown = f"{subject.type_text}, field {subject.number}" if number else subject.type_text
    return f"{label}.{subject.name} ({shown})"


def _parent(label: str, path: str) -> str:
    """The label of the message holding the last field of `path` (`detect.Out.detail`)."""
    head, _, _ = path.rpartition(".")
    return f"{label}.{head}" if head else label


def _method(interface: InterfaceDescription, name: str) -> MethodDescription:
    try:
        return interface.methods[name]
    except KeyError:
        known = ", ".join(sorted(interface.methods)) or "none"
        raise KeyError(f"no method {name!r} in {interface.package} (methods: {known})") from None
