"""Inputs of the contract test of pushed images (prebuilt.py), generated from the descriptors.

Every field gets a deterministic, non-default value, so a server that ignores its input cannot
pass for one that reads it; nothing here needs the image.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_SAMPLE_SCALARS: dict[int, Any] = {
    FieldDescriptor.CPPTYPE_DOUBLE: 1.5,
    FieldDescriptor.CPPTYPE_FLOAT: 1.5,
    FieldDescriptor.CPPTYPE_INT32: 2,
    FieldDescriptor.CPPTYPE_INT64: 2,
    FieldDescriptor.CPPTYPE_UINT32: 2,
    FieldDescriptor.CPPTYPE_UINT64: 2,
    FieldDescriptor.CPPTYPE_BOOL: True,
}


def fill_sample(message: Message, depth: int) -> None:
    """A deterministic, non-default value in every field (two items per repeated field), nested
    messages three levels deep: enough to tell a server that ignores its input from one that
    reads it."""
    if depth > 3:
        return
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]  # upb's is the same
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            _fill_map(getattr(message, field.name), field, depth)
        elif field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
            targets = (
                [getattr(message, field.name).add() for _ in range(2)]
                if _repeated(field)
                else [getattr(message, field.name)]
            )
            for target in targets:
                fill_sample(target, depth + 1)
                target.SetInParent()
        elif _repeated(field):
            getattr(message, field.name).extend([_scalar(field, 0), _scalar(field, 1)])
        else:
            setattr(message, field.name, _scalar(field, 0))


def _fill_map(container: Any, field: FieldDescriptor, depth: int) -> None:
    entry = field.message_type
    assert entry is not None, field.full_name  # a map field's entry message
    value_field, key_field = entry.fields_by_name["value"], entry.fields_by_name["key"]
    key = _scalar(key_field, 0)
    if value_field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        fill_sample(container[key], depth + 1)
    else:
        container[key] = _scalar(value_field, 0)


def _scalar(field: FieldDescriptor, index: int) -> Any:
    if field.cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        assert field.enum_type is not None, field.full_name
        values = field.enum_type.values
        return values[min(index + 1, len(values) - 1)].number
    if field.cpp_type == FieldDescriptor.CPPTYPE_STRING:
        text = f"sample{index}"
        return text.encode() if field.type == FieldDescriptor.TYPE_BYTES else text
    value = _SAMPLE_SCALARS[field.cpp_type]
    return value + index if not isinstance(value, bool) else value


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def message_classes(descriptor_set: bytes) -> dict[str, type[Message]]:
    file_set = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set)
    pool = descriptor_pool.DescriptorPool()
    return dict(message_factory.GetMessages(list(file_set.file), pool=pool))
