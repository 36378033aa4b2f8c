"""The Acumos paper's port-matching rule, kept as the floor that `compatibility` builds on.

Acumos' design studio let an output port connect to an input port when the two protobuf messages
had the same number of fields and, for each tag, the same type and label; field names were
ignored. This module says exactly that and nothing more, so `ConnectionCheck.meets_paper_rule`
can show where Modelbay's own rule (module `compatibility`) is stricter or looser.

Two readings the paper leaves open, fixed here: a nested message "has the same type" when it
matches by this same rule (names are ignored everywhere, type names too); an enum "has the same
type" when it declares the same set of numbers. A map field has the `repeated` label (protobuf
encodes it as a repeated entry message), so its key and value types are compared as the entry's
two fields would be.
"""

from __future__ import annotations

from modelbay_common.interface.describe import (
    FieldDescription,
    InterfaceDescription,
    MessageDescription,
)

__all__ = ["meets_paper_rule"]


def meets_paper_rule(
    producer: InterfaceDescription,
    output: MessageDescription,
    consumer: InterfaceDescription,
    input_: MessageDescription,
) -> bool:
    """Same field count; per tag the same type and label; names ignored."""
    return _messages(producer, output, consumer, input_, set())


def _messages(
    producer: InterfaceDescription,
    output: MessageDescription,
    consumer: InterfaceDescription,
    input_: MessageDescription,
    seen: set[tuple[str, str]],
) -> bool:
    if (output.full_name, input_.full_name) in seen:
        return True
    seen.add((output.full_name, input_.full_name))
    if len(output.fields) != len(input_.fields):
        return False
    for sent in output.fields:
        received = input_.field_numbered(sent.number)
        if received is None or _label(sent) != _label(received):
            return False
        if not _same_type(producer, sent, consumer, received, seen):
            return False
    return True


def _label(subject: FieldDescription) -> str:
    """The proto label: proto3 singular and `optional` fields are both LABEL_OPTIONAL."""
    if subject.cardinality in ("repeated", "map"):
        return "repeated"
    return "required" if subject.cardinality == "required" else "optional"


def _same_type(
    producer: InterfaceDescription,
    sent: FieldDescription,
    consumer: InterfaceDescription,
    received: FieldDescription,
    seen: set[tuple[str, str]],
) -> bool:
    sent_key = sent.key_type.name if sent.key_type is not None else None
    received_key = received.key_type.name if received.key_type is not None else None
    if sent.type.kind != received.type.kind or sent_key != received_key:
        return False
    if sent.type.kind == "scalar":
        return sent.type.name == received.type.name
    if sent.type.kind == "enum":
        sent_numbers = {v.number for v in producer.enum(sent.type.name).values}
        return sent_numbers == {v.number for v in consumer.enum(received.type.name).values}
    return _messages(
        producer,
        producer.message(sent.type.name),
        consumer,
        consumer.message(received.type.name),
        seen,
    )
