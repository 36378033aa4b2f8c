"""A model version's interface, read from its serialized `FileDescriptorSet`.

Every bundle carries `model.descriptor.pb` (docs/bundle.md); onboarding stores it under the
version's interface prefix. The catalog (interface diffs, the model page) and solutions (typed
connections) need the same plain view of it: methods, messages with their fields, enums. This
module builds that view once, as frozen pydantic models that serialise to JSON, so no caller
walks descriptor protos itself.

Names: messages and enums are keyed by their fully qualified proto name without the leading dot
(`modelbay.iris.Input`, nested: `modelbay.iris.Outer.Inner`); `display` is the name relative to
the file's package (`Input`, `Outer.Inner`), which is what people read. protoc's synthetic map
entry messages are not listed: a map field carries its key and value types itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import DecodeError
from pydantic import BaseModel, ConfigDict

__all__ = [
    "Cardinality",
    "EnumDescription",
    "EnumValueDescription",
    "FieldDescription",
    "InterfaceDescription",
    "InterfaceDescriptionError",
    "MessageDescription",
    "MethodDescription",
    "TypeRef",
    "describe_descriptor_set",
]

Cardinality = Literal["singular", "optional", "required", "repeated", "map"]
"""`singular`: proto3 implicit presence (absent = default value); `optional`: explicit presence
(proto3 `optional`, or a proto2 optional field); `required`: proto2 only; `repeated`; `map`."""

_FDP = descriptor_pb2.FieldDescriptorProto
_MESSAGE_TYPES = (_FDP.TYPE_MESSAGE, _FDP.TYPE_GROUP)


class InterfaceDescriptionError(ValueError):
    """The bytes are not a usable serialized `google.protobuf.FileDescriptorSet`."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (what an API returns)."""
        return self.model_dump(mode="json")


class TypeRef(_Frozen):
    """What a field holds: a scalar keyword (`double`), or a message/enum by full name."""

    kind: Literal["scalar", "message", "enum"]
    name: str
    display: str

    @property
    def is_scalar(self) -> bool:
        return self.kind == "scalar"


class FieldDescription(_Frozen):
    name: str
    number: int
    cardinality: Cardinality
    type: TypeRef
    """The element type of a repeated field, the value type of a map."""
    key_type: TypeRef | None = None
    """Maps only."""
    json_name: str
    oneof: str | None = None
    """The real `oneof` this field belongs to (not proto3 `optional`'s synthetic one)."""

    @property
    def type_text(self) -> str:
        """How the field's type reads in a `.proto`: `repeated double`, `map<string, Species>`."""
        if self.cardinality == "map":
            key = self.key_type.display if self.key_type is not None else "?"
            return f"map<{key}, {self.type.display}>"
        if self.cardinality == "singular":
            return self.type.display
        return f"{self.cardinality} {self.type.display}"


class MessageDescription(_Frozen):
    full_name: str
    display: str
    fields: tuple[FieldDescription, ...]
    """In declaration order."""
    nested_messages: tuple[str, ...] = ()
    nested_enums: tuple[str, ...] = ()

    def field_named(self, name: str) -> FieldDescription | None:
        return next((f for f in self.fields if f.name == name), None)

    def field_numbered(self, number: int) -> FieldDescription | None:
        return next((f for f in self.fields if f.number == number), None)


class EnumValueDescription(_Frozen):
    name: str
    """The proto value name (`SPECIES_SETOSA`)."""
    member: str
    """The name without the enum's prefix (`SETOSA`): the Python member name for enums the SDK
    generated, and the name Modelbay's JSON uses. Equals `name` when the prefix is absent."""
    number: int


class EnumDescription(_Frozen):
    full_name: str
    display: str
    values: tuple[EnumValueDescription, ...]

    def value_numbered(self, number: int) -> EnumValueDescription | None:
        return next((v for v in self.values if v.number == number), None)

    def value_member(self, member: str) -> EnumValueDescription | None:
        return next((v for v in self.values if v.member == member), None)


class MethodDescription(_Frozen):
    name: str
    service: str
    input_message: str
    output_message: str
    client_streaming: bool = False
    server_streaming: bool = False


class InterfaceDescription(_Frozen):
    """Everything a descriptor set declares, keyed by full proto names."""

    package: str
    methods: dict[str, MethodDescription]
    messages: dict[str, MessageDescription]
    enums: dict[str, EnumDescription]

    @property
    def model_label(self) -> str:
        """The model's name as its package spells it (`modelbay.detect` → `detect`)."""
        return self.package.removeprefix("modelbay.") or self.package

    def message(self, name: str) -> MessageDescription:
        """A message by full name (`modelbay.iris.Input`, a leading dot allowed) or by its name
        relative to the package (`Input`)."""
        stripped = name.lstrip(".")
        found = self.messages.get(stripped) or self.messages.get(f"{self.package}.{stripped}")
        if found is None:
            known = ", ".join(sorted(m.display for m in self.messages.values())) or "none"
            raise KeyError(f"no message {name!r} in {self.package} (messages: {known})")
        return found

    def enum(self, name: str) -> EnumDescription:
        return self.enums[name.lstrip(".")]


def describe_descriptor_set(raw: bytes | bytearray | memoryview) -> InterfaceDescription:
    """Describe the interface a serialized `FileDescriptorSet` declares.

    Raises `InterfaceDescriptionError` naming the problem when the bytes do not decode as a
    descriptor set, hold no file, do not load as a consistent set (an unresolved type, a clash),
    or declare two rpcs with one name (a model's methods are addressed by name alone).
    """
    file_set = _decode(bytes(raw))
    _check_loads(file_set)
    package = _package(file_set)
    index = _Index(file_set.file)
    return InterfaceDescription(
        package=package,
        methods=_methods(file_set.file),
        messages={
            full: _message(full, proto, index, package)
            for full, proto in index.messages.items()
            if full not in index.map_entries
        },
        enums={full: _enum(full, proto, package) for full, proto in index.enums.items()},
    )


def _decode(raw: bytes) -> descriptor_pb2.FileDescriptorSet:
    try:
        file_set = descriptor_pb2.FileDescriptorSet.FromString(raw)
    except DecodeError as exc:
        hint = " (it is a bare FileDescriptorProto: wrap it in a set)" if _is_file(raw) else ""
        raise InterfaceDescriptionError(
            f"not a serialized google.protobuf.FileDescriptorSet{hint} ({exc})"
        ) from exc
    if not file_set.file:
        raise InterfaceDescriptionError("the descriptor set holds no proto file")
    unnamed = [index for index, file in enumerate(file_set.file) if not file.name]
    if unnamed:
        # protoc always names files; nameless ones mean these bytes were another message
        # that happened to decode.
        raise InterfaceDescriptionError(
            "not a FileDescriptorSet: it holds file entries without a name"
        )
    return file_set


def _is_file(raw: bytes) -> bool:
    try:
        return bool(descriptor_pb2.FileDescriptorProto.FromString(raw).name)
    except DecodeError:
        return False


def _check_loads(file_set: descriptor_pb2.FileDescriptorSet) -> None:
    # A private pool: the default one is process-wide and would mix models together.
    pool = descriptor_pool.DescriptorPool()
    try:
        for file_proto in file_set.file:
            pool.Add(file_proto)
        for file_proto in file_set.file:
            pool.FindFileByName(file_proto.name)  # builds it: unresolved types fail here
    except (TypeError, KeyError, ValueError) as exc:
        raise InterfaceDescriptionError(
            f"the descriptor set does not load as a consistent set of proto files ({exc})"
        ) from exc


def _package(file_set: descriptor_pb2.FileDescriptorSet) -> str:
    """The package of the file that declares the service (a model has one), else the last
    file's (protoc lists dependencies before the files that import them)."""
    with_service = [f for f in file_set.file if f.service]
    return (with_service or list(file_set.file))[-1].package


class _Index:
    """Every message and enum of the set by full name, and which messages are map entries."""

    def __init__(self, files: Iterable[descriptor_pb2.FileDescriptorProto]) -> None:
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.map_entries: set[str] = set()
        for file in files:
            prefix = f"{file.package}." if file.package else ""
            for enum in file.enum_type:
                self.enums[prefix + enum.name] = enum
            for message in file.message_type:
                self._add_message(prefix + message.name, message)

    def _add_message(self, full: str, proto: descriptor_pb2.DescriptorProto) -> None:
        self.messages[full] = proto
        if proto.options.map_entry:
            self.map_entries.add(full)
        for enum in proto.enum_type:
            self.enums[f"{full}.{enum.name}"] = enum
        for nested in proto.nested_type:
            self._add_message(f"{full}.{nested.name}", nested)


def _methods(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> dict[str, MethodDescription]:
    methods: dict[str, MethodDescription] = {}
    for file in files:
        for service in file.service:
            for rpc in service.method:
                if rpc.name in methods:
                    raise InterfaceDescriptionError(
                        f"two rpcs are named {rpc.name!r} (services {methods[rpc.name].service} "
                        f"and {service.name}); a model's methods are addressed by name alone"
                    )
                methods[rpc.name] = MethodDescription(
                    name=rpc.name,
                    service=service.name,
                    input_message=rpc.input_type.lstrip("."),
                    output_message=rpc.output_type.lstrip("."),
                    client_streaming=rpc.client_streaming,
                    server_streaming=rpc.server_streaming,
                )
    return methods


def _message(
    full: str, proto: descriptor_pb2.DescriptorProto, index: _Index, package: str
) -> MessageDescription:
    return MessageDescription(
        full_name=full,
        display=_display(full, package),
        fields=tuple(_field(field, proto, index, package) for field in proto.field),
        nested_messages=tuple(
            f"{full}.{nested.name}"
            for nested in proto.nested_type
            if f"{full}.{nested.name}" not in index.map_entries
        ),
        nested_enums=tuple(f"{full}.{enum.name}" for enum in proto.enum_type),
    )


def _field(
    field: descriptor_pb2.FieldDescriptorProto,
    owner: descriptor_pb2.DescriptorProto,
    index: _Index,
    package: str,
) -> FieldDescription:
    value_type = _type_ref(field, index, package)
    oneof = None
    if field.HasField("oneof_index") and not field.proto3_optional:
        oneof = owner.oneof_decl[field.oneof_index].name
    common: dict[str, Any] = {
        "name": field.name,
        "number": field.number,
        "json_name": field.json_name or field.name,
        "oneof": oneof,
    }
    if value_type.kind == "message" and value_type.name in index.map_entries:
        entry = index.messages[value_type.name]
        key, value = (next(f for f in entry.field if f.number == n) for n in (1, 2))
        return FieldDescription(
            **common,
            cardinality="map",
            key_type=_type_ref(key, index, package),
            type=_type_ref(value, index, package),
        )
    return FieldDescription(**common, cardinality=_cardinality(field), type=value_type)


def _cardinality(field: descriptor_pb2.FieldDescriptorProto) -> Cardinality:
    if field.label == _FDP.LABEL_REPEATED:
        return "repeated"
    if field.label == _FDP.LABEL_REQUIRED:
        return "required"
    if field.proto3_optional:
        return "optional"
    return "singular"


def _type_ref(field: descriptor_pb2.FieldDescriptorProto, index: _Index, package: str) -> TypeRef:
    if field.type in _MESSAGE_TYPES or field.type == _FDP.TYPE_ENUM:
        full = field.type_name.lstrip(".")
        kind: Literal["message", "enum"] = "enum" if field.type == _FDP.TYPE_ENUM else "message"
        known: Mapping[str, object] = index.enums if kind == "enum" else index.messages
        if full not in known:
            raise InterfaceDescriptionError(
                f"field {field.name!r} refers to {kind} {field.type_name!r}, which the set does "
                "not declare under that fully qualified name"
            )
        return TypeRef(kind=kind, name=full, display=_display(full, package))
    scalar = _FDP.Type.Name(field.type).removeprefix("TYPE_").lower()
    return TypeRef(kind="scalar", name=scalar, display=scalar)


def _enum(full: str, proto: descriptor_pb2.EnumDescriptorProto, package: str) -> EnumDescription:
    prefix = _enum_prefix(proto.name)
    return EnumDescription(
        full_name=full,
        display=_display(full, package),
        values=tuple(
            EnumValueDescription(
                name=value.name,
                member=value.name.removeprefix(prefix) or value.name,
                number=value.number,
            )
            for value in proto.value
        ),
    )


def _enum_prefix(enum_name: str) -> str:
    """The value-name prefix the SDK gives an enum's values (`IrisType` → `IRIS_TYPE_`); the
    same rule as `modelbay_runtime.types.enum_prefix`, which libs/common cannot import."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", enum_name)
    return re.sub(r"\W", "_", snake).upper() + "_"


def _display(full: str, package: str) -> str:
    return full.removeprefix(f"{package}.") if package else full
