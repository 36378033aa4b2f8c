"""The mapping step: a node's input message built field by field from its producers' outputs.

Executes a `NodeFeed` (modelbay_runtime.solution.plan_feeds) that was type-checked at definition
time, so every copied field has the consumer field's cardinality and type, and nested messages
agree field number by field number: nested values are copied as their wire bytes. Each feed
compiles once into a list of copy functions; a request only runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from modelbay_runtime.solution_feeds import EdgeFeed

Copy = Callable[[Message, Message], None]  # (producer message, consumer message)


@dataclass(frozen=True)
class EdgeCopier:
    source: str
    copies: tuple[Copy, ...]


def compile_edges(
    edges: tuple[EdgeFeed, ...],
    producers: Mapping[str, Any],
    consumer: Any,
) -> tuple[EdgeCopier, ...]:
    """Copy functions per incoming edge; `producers` maps each source to its output message's
    `Descriptor` (typed Any: the upb and pure-Python descriptor classes differ for mypy)."""
    return tuple(
        EdgeCopier(
            edge.source,
            tuple(
                _compile(producers[edge.source], f.producer_path, consumer, f.consumer_field)
                for f in edge.fields
            ),
        )
        for edge in edges
    )


def assemble(
    target: Message, copiers: tuple[EdgeCopier, ...], sources: Mapping[str, Message]
) -> Message:
    for copier in copiers:
        source = sources[copier.source]
        for copy in copier.copies:
            copy(source, target)
    return target


def _compile(producer: Descriptor, path: str, consumer: Descriptor, name: str) -> Copy:
    *parents, last = path.split(".")
    source_field = _field(producer, parents, last)
    target_field = consumer.fields_by_name[name]
    copy_value = _value_copier(source_field, target_field)

    def copy(source: Message, target: Message) -> None:
        holder = source
        for parent in parents:
            if not holder.HasField(parent):
                return  # an unset message on the path: the consumer reads its default too
            holder = getattr(holder, parent)
        copy_value(holder, target)

    return copy


def _field(producer: Descriptor, parents: list[str], last: str) -> FieldDescriptor:
    current = producer
    for parent in parents:
        message_type = current.fields_by_name[parent].message_type
        if message_type is None:
            raise ValueError(f"{current.full_name}.{parent} is not a message")
        current = message_type
    return current.fields_by_name[last]


def _value_copier(source_field: FieldDescriptor, target_field: FieldDescriptor) -> Copy:
    source_name, target_name = source_field.name, target_field.name
    is_message = source_field.type == FieldDescriptor.TYPE_MESSAGE
    if _is_map(source_field):
        entry: Any = source_field.message_type
        value_field = entry.fields_by_name["value"]
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:

            def copy_message_map(holder: Message, target: Message) -> None:
                destination = getattr(target, target_name)
                for key, value in getattr(holder, source_name).items():
                    destination[key].MergeFromString(value.SerializeToString())

            return copy_message_map

        def copy_map(holder: Message, target: Message) -> None:
            getattr(target, target_name).update(getattr(holder, source_name))

        return copy_map
    if source_field.is_repeated:
        if is_message:

            def copy_messages(holder: Message, target: Message) -> None:
                destination = getattr(target, target_name)
                for item in getattr(holder, source_name):
                    destination.add().MergeFromString(item.SerializeToString())

            return copy_messages

        def copy_list(holder: Message, target: Message) -> None:
            getattr(target, target_name).extend(getattr(holder, source_name))

        return copy_list
    if is_message:

        def copy_message(holder: Message, target: Message) -> None:
            if holder.HasField(source_name):
                value = getattr(holder, source_name).SerializeToString()
                getattr(target, target_name).MergeFromString(value)
                getattr(target, target_name).SetInParent()

        return copy_message
    if source_field.has_presence:

        def copy_optional(holder: Message, target: Message) -> None:
            if holder.HasField(source_name):
                setattr(target, target_name, getattr(holder, source_name))

        return copy_optional

    def copy_scalar(holder: Message, target: Message) -> None:
        setattr(target, target_name, getattr(holder, source_name))

    return copy_scalar


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.is_repeated
        and field.message_type is not None
        and field.message_type.GetOptions().map_entry
    )
