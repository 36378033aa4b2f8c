"""proto3 generation: one intermediate form, rendered both as `.proto` text and as a
`FileDescriptorProto`, so the two cannot disagree (tests compile the text with protoc and compare).

Layout rules (wrappers for lists/maps inside lists/maps, tensor messages for n-d arrays, enum
value prefixes) come from `modelbay_runtime.types`, which the runtime's protobuf codec also uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from google.protobuf import descriptor_pb2
from modelbay_runtime.types import (
    LIST_WRAPPER_FIELD,
    MAP_WRAPPER_FIELD,
    TENSOR_SHAPE_FIELD,
    TENSOR_VALUES_FIELD,
    ArraySpec,
    EnumSpec,
    ListSpec,
    MapSpec,
    MessageSpec,
    OptionalSpec,
    ScalarSpec,
    TypeSpec,
    enum_proto_values,
    is_tensor,
    needs_wrapper,
)

from modelbay.model import Method

SERVICE_NAME = "Model"
PROTO_FILE_NAME = "model.proto"

# Type names that protoc would misparse or that collide with the service or generated code.
_RESERVED_TYPE_NAMES = frozenset(
    "double float int32 int64 uint32 uint64 sint32 sint64 fixed32 fixed64 sfixed32 sfixed64 "  # noqa: SIM905
    "bool string bytes message enum service rpc returns stream option import package syntax "
    "oneof map repeated optional required reserved extend extensions to max weak public group "
    "inf nan true false DESCRIPTOR Model".split()
)
_SCALAR_TITLES = {
    "double": "Double",
    "float": "Float",
    "int64": "Int64",
    "int32": "Int32",
    "uint64": "Uint64",
    "uint32": "Uint32",
    "bool": "Bool",
    "string": "String",
    "bytes": "Bytes",
}
_FDP = descriptor_pb2.FieldDescriptorProto


class InterfaceError(ValueError):
    """The model's types cannot form one valid proto3 file (name clashes and the like)."""


@dataclass(frozen=True)
class ProtoType:
    """What a field or map value holds: a scalar keyword, or a message/enum by proto name."""

    scalar: str | None = None
    message: str | None = None
    enum: str | None = None

    @property
    def text(self) -> str:
        return self.scalar or self.message or self.enum or ""


@dataclass(frozen=True)
class ProtoField:
    name: str
    number: int
    type: ProtoType
    repeated: bool = False
    map_value: ProtoType | None = None  # set for map<string, map_value>
    optional: bool = False  # proto3 `optional`: explicit presence (Optional[T] / T | None)


@dataclass
class ProtoMessage:
    name: str
    fields: list[ProtoField] = field(default_factory=list)


@dataclass(frozen=True)
class ProtoEnum:
    name: str
    values: tuple[tuple[str, int], ...]


@dataclass
class ProtoFile:
    """The whole interface: package, service rpcs, messages and enums in emission order."""

    package: str
    rpcs: list[tuple[str, str, str]] = field(default_factory=list)  # (rpc, input, output)
    messages: list[ProtoMessage] = field(default_factory=list)
    enums: list[ProtoEnum] = field(default_factory=list)


def proto_package(model_name: str) -> str:
    """`modelbay.<name>` with the name lower-cased and made a valid proto identifier:
    `Iris Model-2` → `modelbay.iris_model_2`."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", model_name.lower()).strip("_") or "model"
    if cleaned[0].isdigit():
        cleaned = "m_" + cleaned
    return f"modelbay.{cleaned}"


def type_proto_name(name: str) -> str:
    """A Python class name as a proto type name: invalid characters become `_`, keywords and
    scalar names get a trailing `_` (`string` → `string_`)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name) or "Type"
    if cleaned[0].isdigit():
        cleaned = "T" + cleaned
    return cleaned + "_" if cleaned in _RESERVED_TYPE_NAMES else cleaned


def build_proto_file(methods: Iterable[Method], package: str) -> ProtoFile:
    """Collect every message and enum the methods reach, each emitted once."""
    builder = _Builder(ProtoFile(package))
    for method in methods:
        input_name = builder.message(method.input_spec)
        output_name = builder.message(method.output_spec)
        builder.file.rpcs.append((method.name, input_name, output_name))
    return builder.file


class _Builder:
    def __init__(self, file: ProtoFile) -> None:
        self.file = file
        self._owners: dict[str, object] = {}  # proto name → what it was generated from

    def _claim(self, name: str, owner: object, describe: str) -> bool:
        """Reserve `name` for `owner`; False if already emitted for the same owner."""
        current = self._owners.get(name)
        if current is None:
            self._owners[name] = owner
            return True
        if current == owner:
            return False
        raise InterfaceError(
            f"two different types are both named {name!r} in the interface ({describe}); "
            "rename one of them"
        )

    def message(self, spec: MessageSpec) -> str:
        name = type_proto_name(spec.name)
        if self._claim(name, spec, f"message {spec.name}"):
            message = ProtoMessage(name)
            self.file.messages.append(message)  # placed before children: declaration order
            message.fields = [self._field(f.name, f.number, f.spec) for f in spec.fields]
            _check_json_names(message)
        return name

    def enum(self, spec: EnumSpec) -> str:
        name = type_proto_name(spec.name)
        if self._claim(name, spec, f"enum {spec.name}"):
            values = enum_proto_values(spec)
            if len({v for v, _ in values}) != len(values):
                raise InterfaceError(f"enum {spec.name}: member names clash once prefixed")
            self.file.enums.append(ProtoEnum(name, values))
        return name

    def _field(self, name: str, number: int, spec: TypeSpec) -> ProtoField:
        if isinstance(spec, OptionalSpec):  # spec_of allows it only over singular types
            return ProtoField(name, number, self.element(spec.item), optional=True)
        if isinstance(spec, ListSpec):
            return ProtoField(name, number, self.element(spec.item), repeated=True)
        if isinstance(spec, ArraySpec) and not is_tensor(spec):
            return ProtoField(name, number, ProtoType(scalar=spec.element.proto), repeated=True)
        if isinstance(spec, MapSpec):
            value = self.element(spec.value)
            return ProtoField(name, number, ProtoType(), repeated=True, map_value=value)
        return ProtoField(name, number, self.element(spec))

    def element(self, spec: TypeSpec) -> ProtoType:
        """The proto type of `spec` where it is a repeated element, map value or singular."""
        if isinstance(spec, ScalarSpec):
            return ProtoType(scalar=spec.proto)
        if isinstance(spec, EnumSpec):
            return ProtoType(enum=self.enum(spec))
        if isinstance(spec, MessageSpec):
            return ProtoType(message=self.message(spec))
        if is_tensor(spec):
            return ProtoType(message=self._tensor(spec))  # type: ignore[arg-type]
        if needs_wrapper(spec):
            return ProtoType(message=self._wrapper(spec))
        raise InterfaceError(f"no proto3 layout for {spec!r}")

    def _tensor(self, spec: ArraySpec) -> str:
        scalar = spec.element.proto
        name = _SCALAR_TITLES[scalar] + "Tensor"
        if self._claim(name, ("tensor", scalar), f"generated tensor of {scalar}"):
            shape = ProtoField(TENSOR_SHAPE_FIELD, 1, ProtoType(scalar="int64"), repeated=True)
            values = ProtoField(TENSOR_VALUES_FIELD, 2, ProtoType(scalar=scalar), repeated=True)
            self.file.messages.append(ProtoMessage(name, [shape, values]))
        return name

    def _wrapper(self, spec: TypeSpec) -> str:
        if isinstance(spec, MapSpec):
            inner, suffix, field_name = spec.value, "Map", MAP_WRAPPER_FIELD
        else:
            inner = spec.item if isinstance(spec, ListSpec) else spec.element  # type: ignore[attr-defined]
            suffix, field_name = "List", LIST_WRAPPER_FIELD
        inner_type = self.element(inner)
        inner_title = _SCALAR_TITLES.get(inner_type.text, inner_type.text)
        name = inner_title + suffix
        if self._claim(name, (suffix, inner_type), f"generated wrapper for {inner_title}"):
            message = ProtoMessage(name)
            self.file.messages.append(message)
            message.fields = [
                self._field(field_name, 1, MapSpec(inner) if suffix == "Map" else ListSpec(inner))
            ]
        return name


def json_name(field_name: str) -> str:
    """protoc's default JSON name: `sepal_length` → `sepalLength` (its exact algorithm)."""
    result, capitalise_next = [], False
    for character in field_name:
        if character == "_":
            capitalise_next = True
        else:
            result.append(character.upper() if capitalise_next else character)
            capitalise_next = False
    return "".join(result)


def _check_json_names(message: ProtoMessage) -> None:
    seen: dict[str, str] = {}
    for proto_field in message.fields:
        other = seen.setdefault(json_name(proto_field.name).lower(), proto_field.name)
        if other != proto_field.name:
            raise InterfaceError(
                f"message {message.name}: fields {other!r} and {proto_field.name!r} have the same "
                "proto3 JSON name; rename one of them"
            )


def map_entry_name(field_name: str) -> str:
    """protoc's name of the nested entry message of a map field: `scores_by` → `ScoresByEntry`."""
    parts = field_name.split("_")
    return "".join(p[:1].upper() + p[1:] for p in parts) + "Entry"


# --- rendering -------------------------------------------------------------------------------


def render_text(file: ProtoFile) -> str:
    """The `.proto` source of `file`."""
    lines = [
        "// Generated by Modelbay from the model's type hints. Do not edit.",
        'syntax = "proto3";',
        "",
        f"package {file.package};",
        "",
        f"service {SERVICE_NAME} {{",
        *(f"  rpc {rpc} ({request}) returns ({reply});" for rpc, request, reply in file.rpcs),
        "}",
    ]
    for enum in file.enums:
        lines += ["", f"enum {enum.name} {{", *(f"  {n} = {v};" for n, v in enum.values), "}"]
    for message in file.messages:
        lines += ["", f"message {message.name} {{", *map(_field_text, message.fields), "}"]
    return "\n".join(lines) + "\n"


def _field_text(proto_field: ProtoField) -> str:
    if proto_field.map_value is not None:
        kind = f"map<string, {proto_field.map_value.text}>"
    else:
        label = "repeated " if proto_field.repeated else "optional " if proto_field.optional else ""
        kind = label + proto_field.type.text
    return f"  {kind} {proto_field.name} = {proto_field.number};"


def render_descriptor(file: ProtoFile) -> descriptor_pb2.FileDescriptorProto:
    """The `FileDescriptorProto` protoc would produce for `render_text(file)`."""
    proto = descriptor_pb2.FileDescriptorProto(
        name=PROTO_FILE_NAME, package=file.package, syntax="proto3"
    )
    service = proto.service.add(name=SERVICE_NAME)
    for rpc, request, reply in file.rpcs:
        service.method.add(
            name=rpc, input_type=_full(file, request), output_type=_full(file, reply)
        )
    for enum in file.enums:
        enum_proto = proto.enum_type.add(name=enum.name)
        for value_name, number in enum.values:
            enum_proto.value.add(name=value_name, number=number)
    for message in file.messages:
        _add_message(proto.message_type.add(name=message.name), message, file)
    return proto


def _add_message(
    target: descriptor_pb2.DescriptorProto, message: ProtoMessage, file: ProtoFile
) -> None:
    for proto_field in message.fields:
        added = target.field.add(
            name=proto_field.name, number=proto_field.number, json_name=json_name(proto_field.name)
        )
        if proto_field.map_value is not None:
            entry = target.nested_type.add(name=map_entry_name(proto_field.name))
            entry.options.map_entry = True
            _set_type(
                entry.field.add(name="key", number=1, json_name="key"),
                ProtoType(scalar="string"),
                file,
            )
            _set_type(
                entry.field.add(name="value", number=2, json_name="value"),
                proto_field.map_value,
                file,
            )
            added.label = _FDP.LABEL_REPEATED
            added.type = _FDP.TYPE_MESSAGE
            added.type_name = f"{_full(file, message.name)}.{entry.name}"
            continue
        _set_type(added, proto_field.type, file)
        if proto_field.repeated:
            added.label = _FDP.LABEL_REPEATED
        if proto_field.optional:
            # What protoc emits for proto3 `optional`: the field in a synthetic oneof `_name`,
            # declared after every real oneof (there are none here), in field order.
            added.proto3_optional = True
            added.oneof_index = len(target.oneof_decl)
            target.oneof_decl.add(name=f"_{proto_field.name}")


def _set_type(
    target: descriptor_pb2.FieldDescriptorProto, kind: ProtoType, file: ProtoFile
) -> None:
    target.label = _FDP.LABEL_OPTIONAL
    if kind.scalar is not None:
        target.type = _SCALAR_FIELD_TYPES[kind.scalar]
    elif kind.message is not None:
        target.type = _FDP.TYPE_MESSAGE
        target.type_name = _full(file, kind.message)
    else:
        target.type = _FDP.TYPE_ENUM
        target.type_name = _full(file, kind.enum or "")


def _full(file: ProtoFile, name: str) -> str:
    return f".{file.package}.{name}"


_SCALAR_FIELD_TYPES = {
    "double": _FDP.TYPE_DOUBLE,
    "float": _FDP.TYPE_FLOAT,
    "int64": _FDP.TYPE_INT64,
    "int32": _FDP.TYPE_INT32,
    "uint64": _FDP.TYPE_UINT64,
    "uint32": _FDP.TYPE_UINT32,
    "bool": _FDP.TYPE_BOOL,
    "string": _FDP.TYPE_STRING,
    "bytes": _FDP.TYPE_BYTES,
}
