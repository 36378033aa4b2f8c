"""Protobuf messages of a bundle: dynamic classes from its descriptor set, and message <-> dict.

The dicts are the same natural dicts the JSON path produces, so one `LoadedMethod.call` serves
both encodings. When the method's `MessageSpec` is known, the codec's spec-aware converters are
used (they unwrap list/map wrapper messages and tensors); otherwise a generic descriptor-driven
converter (proto field names, enums by name, bytes as base64), compiled once per message type.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from modelbay_runtime import codec
from modelbay_runtime.server.problem import malformed_body
from modelbay_runtime.types import MessageSpec, TypeSpec

ToValue = Callable[[Any], Any]
FieldReader = Callable[[Message, dict[str, Any]], None]


class MessageCatalog:
    """The message types of one bundle, looked up by fully qualified proto name."""

    def __init__(self, descriptor_set: bytes) -> None:
        files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set).file
        self._pool = descriptor_pool.DescriptorPool()
        self._file_names = [f.name for f in files]
        for file_proto in _dependency_order(list(files)):
            self._pool.Add(file_proto)
        self._classes: dict[str, type[Message]] = {}
        self._readers: dict[str, list[FieldReader]] = {}

    def service_names(self) -> list[str]:
        """Fully qualified names of the services the bundle's files declare, in file order."""
        return [
            service.full_name
            for file_name in self._file_names
            for service in self._pool.FindFileByName(file_name).services_by_name.values()
        ]

    def message_names(self) -> list[str]:
        """Fully qualified names of every top-level and nested message (map entries excluded)."""
        names: list[str] = []
        for file_name in self._file_names:
            pending = list(self._pool.FindFileByName(file_name).message_types_by_name.values())
            while pending:
                desc = pending.pop()
                if not desc.GetOptions().map_entry:
                    names.append(desc.full_name)
                pending.extend(desc.nested_types)
        return names

    def descriptor(self, full_name: str) -> Descriptor:
        return self._pool.FindMessageTypeByName(full_name)

    def message_class(self, full_name: str) -> type[Message]:
        cls = self._classes.get(full_name)
        if cls is None:
            cls = message_factory.GetMessageClass(self.descriptor(full_name))
            self._classes[full_name] = cls
        return cls

    def decode(self, full_name: str, data: bytes, spec: TypeSpec | None = None) -> dict[str, Any]:
        """Parse wire bytes into a natural dict; undecodable bytes are the client's fault (400)."""
        try:
            message = self.message_class(full_name).FromString(data)
        except DecodeError as exc:
            raise malformed_body(f"The body is not a valid protobuf {full_name}: {exc}") from None
        if isinstance(spec, MessageSpec):
            return codec.message_to_dict(message, spec)
        return self.to_dict(message)

    def to_dict(self, message: Message) -> dict[str, Any]:
        out: dict[str, Any] = {}
        desc: Any = message.DESCRIPTOR  # upb and python descriptors: same API
        for read in self._readers_for(desc):
            read(message, out)
        return out

    def encode(
        self, full_name: str, payload: dict[str, Any], spec: TypeSpec | None = None
    ) -> bytes:
        cls = self.message_class(full_name)
        if isinstance(spec, MessageSpec):
            return codec.dict_to_message(payload, spec, cls).SerializeToString()
        message = cls()
        _fill(message, payload)
        return message.SerializeToString()

    def _readers_for(self, desc: Descriptor) -> list[FieldReader]:
        readers = self._readers.get(desc.full_name)
        if readers is None:
            readers = [self._reader(field) for field in desc.fields]
            self._readers[desc.full_name] = readers
        return readers

    def _reader(self, field: FieldDescriptor) -> FieldReader:
        name = field.name
        if _is_map(field):
            entry = _message_type(field)
            key_of = self._value_converter(entry.fields_by_name["key"])
            value_of = self._value_converter(entry.fields_by_name["value"])

            def read_map(message: Message, out: dict[str, Any]) -> None:
                out[name] = {key_of(k): value_of(v) for k, v in getattr(message, name).items()}

            return read_map
        convert = self._value_converter(field)
        if field.is_repeated:
            if convert is _identity:

                def read_list(message: Message, out: dict[str, Any]) -> None:
                    out[name] = list(getattr(message, name))

                return read_list

            def read_converted_list(message: Message, out: dict[str, Any]) -> None:
                out[name] = [convert(v) for v in getattr(message, name)]

            return read_converted_list
        if field.has_presence:
            # Unset message fields and proto3 `optional` scalars read as null, not as defaults.
            def read_optional(message: Message, out: dict[str, Any]) -> None:
                out[name] = convert(getattr(message, name)) if message.HasField(name) else None

            return read_optional

        def read_scalar(message: Message, out: dict[str, Any]) -> None:
            out[name] = convert(getattr(message, name))

        return read_scalar

    def _value_converter(self, field: FieldDescriptor) -> ToValue:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            return self.to_dict
        if field.type == FieldDescriptor.TYPE_ENUM:
            names = {number: name for name, number in _enum_values(field).items()}
            return lambda number: names.get(number, number)
        if field.type == FieldDescriptor.TYPE_BYTES:
            return lambda raw: base64.b64encode(raw).decode("ascii")
        return _identity


def _message_type(field: FieldDescriptor) -> Descriptor:
    if field.message_type is None:
        raise TypeError(f"field {field.name} is not a message field")
    return field.message_type


def _enum_values(field: FieldDescriptor) -> dict[str, int]:
    if field.enum_type is None:
        raise TypeError(f"field {field.name} is not an enum field")
    return {v.name: v.number for v in field.enum_type.values}


def _identity(value: Any) -> Any:
    return value


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.is_repeated
        and field.type == FieldDescriptor.TYPE_MESSAGE
        and _message_type(field).GetOptions().map_entry
    )


def _fill(message: Message, payload: dict[str, Any]) -> None:
    """Set a message from a natural dict (the model's output). Raises on a mismatch: the caller
    treats that as the model's failure (500), since the output was produced by the model."""
    fields: Any = message.DESCRIPTOR.fields_by_name  # upb and python descriptors: same API
    for key, value in payload.items():
        if value is None:
            continue
        field: FieldDescriptor = fields[key]
        target = getattr(message, key)
        if _is_map(field):
            _fill_map(field, target, value)
        elif field.is_repeated:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                for item in value:
                    _fill(target.add(), item)
            else:
                target.extend(_scalar_for(field, item) for item in value)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            target.SetInParent()
            _fill(target, value)
        else:
            setattr(message, key, _scalar_for(field, value))


def _fill_map(field: FieldDescriptor, target: Any, value: dict[Any, Any]) -> None:
    entry = _message_type(field)
    value_field = entry.fields_by_name["value"]
    key_field = entry.fields_by_name["key"]
    for k, v in value.items():
        map_key = _scalar_for(key_field, k)
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:
            _fill(target[map_key], v)
        else:
            target[map_key] = _scalar_for(value_field, v)


def _scalar_for(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_BYTES and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"field {field.name}: not base64: {exc}") from None
    if field.type == FieldDescriptor.TYPE_ENUM and isinstance(value, str):
        return _enum_values(field)[value]
    if field.type in _INTEGER_TYPES and isinstance(value, str):
        return int(value)  # a model may hand back int64 as text; the wire wants a number
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


def _dependency_order(
    files: list[descriptor_pb2.FileDescriptorProto],
) -> list[descriptor_pb2.FileDescriptorProto]:
    """A pool accepts a file only after its imports; descriptor sets need not be ordered."""
    by_name = {f.name: f for f in files}
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in by_name:
            return
        seen.add(name)
        for dependency in by_name[name].dependency:
            visit(dependency)
        ordered.append(by_name[name])

    for file_proto in files:
        visit(file_proto.name)
    return ordered
