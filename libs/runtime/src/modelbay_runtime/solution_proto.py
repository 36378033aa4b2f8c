"""A solution's own protobuf interface, made from its nodes' descriptor sets.

A solution takes its first entry node's input message and answers with its output node's output
message. Its `model.proto` is one self-contained proto3 file in the solution's package
(`modelbay.<solution name>`): the two messages and every message and enum they reach are copied
from the nodes' files (whole top-level types, nested ones included), type references rewritten
to the new package, and `service Model { rpc <method>(In) returns (Out); }` added. The bytes on
the wire are the nodes' own: copying keeps every field name, number and type.

Rendered both as a `FileDescriptorSet` and as `.proto` text from the same `FileDescriptorProto`,
so the two agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, EnumDescriptor

PROTO_FILE_NAME = "model.proto"
SERVICE_NAME = "Model"
_FDP = descriptor_pb2.FieldDescriptorProto
_SCALAR_NAMES = {
    _FDP.TYPE_DOUBLE: "double",
    _FDP.TYPE_FLOAT: "float",
    _FDP.TYPE_INT64: "int64",
    _FDP.TYPE_UINT64: "uint64",
    _FDP.TYPE_INT32: "int32",
    _FDP.TYPE_FIXED64: "fixed64",
    _FDP.TYPE_FIXED32: "fixed32",
    _FDP.TYPE_BOOL: "bool",
    _FDP.TYPE_STRING: "string",
    _FDP.TYPE_BYTES: "bytes",
    _FDP.TYPE_UINT32: "uint32",
    _FDP.TYPE_SFIXED32: "sfixed32",
    _FDP.TYPE_SFIXED64: "sfixed64",
    _FDP.TYPE_SINT32: "sint32",
    _FDP.TYPE_SINT64: "sint64",
}


@dataclass(frozen=True)
class MessageSource:
    """A message in a node's interface: the node's descriptor set and the message's full name."""

    descriptor_set: bytes
    full_name: str


@dataclass(frozen=True)
class SolutionInterface:
    package: str
    input_message: str  # full names in `package`
    output_message: str
    descriptor_set: bytes
    proto_text: str


def solution_package(solution_name: str) -> str:
    """`modelbay.<name>` as a proto package (same rule as the SDK's `proto_package`)."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", solution_name.lower()).strip("_") or "solution"
    if cleaned[0].isdigit():
        cleaned = "m_" + cleaned
    return f"modelbay.{cleaned}"


def build_solution_interface(
    solution_name: str, method: str, request: MessageSource, answer: MessageSource
) -> SolutionInterface:
    package = solution_package(solution_name)
    copier = _Copier(package)
    input_name = copier.copy(request)
    output_name = copier.copy(answer)
    file_proto = descriptor_pb2.FileDescriptorProto(
        name=PROTO_FILE_NAME, package=package, syntax="proto3"
    )
    file_proto.message_type.extend(copier.messages)
    file_proto.enum_type.extend(copier.enums)
    file_proto.service.add(name=SERVICE_NAME).method.add(
        name=method, input_type=f".{input_name}", output_type=f".{output_name}"
    )
    descriptor_set = descriptor_pb2.FileDescriptorSet(file=[file_proto])
    return SolutionInterface(
        package=package,
        input_message=input_name,
        output_message=output_name,
        descriptor_set=descriptor_set.SerializeToString(deterministic=True),
        proto_text=render_proto(file_proto),
    )


class _Copier:
    """Copies top-level types of several descriptor sets into one package, renaming clashes."""

    def __init__(self, package: str) -> None:
        self._package = package
        self._pools: dict[bytes, descriptor_pool.DescriptorPool] = {}
        self._renamed: dict[tuple[bytes, str], str] = {}  # (set, old top-level) → new top-level
        self._taken: set[str] = set()
        self.messages: list[descriptor_pb2.DescriptorProto] = []
        self.enums: list[descriptor_pb2.EnumDescriptorProto] = []

    def copy(self, source: MessageSource) -> str:
        pool = self._pool(source.descriptor_set)
        descriptor = pool.FindMessageTypeByName(source.full_name.lstrip("."))
        pending: list[Descriptor | EnumDescriptor] = [_top_level(descriptor)]
        copied: list[Descriptor | EnumDescriptor] = []
        while pending:
            top = pending.pop()
            key = (source.descriptor_set, top.full_name)
            if key in self._renamed:
                continue
            self._renamed[key] = self._free_name(top.name)
            copied.append(top)
            if isinstance(top, Descriptor):
                pending.extend(_top_level(ref) for ref in _references(top))
        for top in copied:
            self._emit(source.descriptor_set, top)
        return self._new_name(source.descriptor_set, descriptor.full_name, pool)

    def _pool(self, descriptor_set: bytes) -> descriptor_pool.DescriptorPool:
        pool = self._pools.get(descriptor_set)
        if pool is None:
            pool = descriptor_pool.DescriptorPool()
            files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set).file
            for file_proto in _dependency_order(list(files)):
                pool.Add(file_proto)
            self._pools[descriptor_set] = pool
        return pool

    def _free_name(self, name: str) -> str:
        candidate, suffix = name, 2
        while candidate in self._taken or candidate == SERVICE_NAME:
            candidate, suffix = f"{name}{suffix}", suffix + 1
        self._taken.add(candidate)
        return candidate

    def _new_name(
        self, descriptor_set: bytes, full_name: str, pool: descriptor_pool.DescriptorPool
    ) -> str:
        """The copied type's full name: its top-level container renamed, nesting kept."""
        try:
            found: Descriptor | EnumDescriptor = pool.FindMessageTypeByName(full_name)
        except KeyError:
            found = pool.FindEnumTypeByName(full_name)
        top = _top_level(found)
        inner = full_name[len(top.full_name) :]
        return f"{self._package}.{self._renamed[(descriptor_set, top.full_name)]}{inner}"

    def _emit(self, descriptor_set: bytes, top: Descriptor | EnumDescriptor) -> None:
        new_name = self._renamed[(descriptor_set, top.full_name)]
        if isinstance(top, EnumDescriptor):
            enum_proto = descriptor_pb2.EnumDescriptorProto()
            top.CopyToProto(enum_proto)
            enum_proto.name = new_name
            self.enums.append(enum_proto)
            return
        message_proto = descriptor_pb2.DescriptorProto()
        top.CopyToProto(message_proto)
        message_proto.name = new_name
        pool = self._pool(descriptor_set)
        self._rewrite(message_proto, descriptor_set, pool)
        self.messages.append(message_proto)

    def _rewrite(
        self,
        message: descriptor_pb2.DescriptorProto,
        descriptor_set: bytes,
        pool: descriptor_pool.DescriptorPool,
    ) -> None:
        for field in message.field:
            if field.type_name:
                field.type_name = "." + self._new_name(
                    descriptor_set, field.type_name.lstrip("."), pool
                )
        for nested in message.nested_type:
            self._rewrite(nested, descriptor_set, pool)


def _top_level(descriptor: Descriptor | EnumDescriptor) -> Descriptor | EnumDescriptor:
    current: Descriptor | EnumDescriptor = descriptor
    while current.containing_type is not None:
        current = current.containing_type
    return current


def _references(message: Descriptor) -> list[Descriptor | EnumDescriptor]:
    found: list[Descriptor | EnumDescriptor] = []
    pending = [message]
    while pending:
        current = pending.pop()
        for field in current.fields:
            if field.message_type is not None:
                found.append(field.message_type)
            if field.enum_type is not None:
                found.append(field.enum_type)
        pending.extend(current.nested_types)
    return found


def _dependency_order(
    files: list[descriptor_pb2.FileDescriptorProto],
) -> list[descriptor_pb2.FileDescriptorProto]:
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


# -- rendering ---------------------------------------------------------------------------------


def render_proto(file_proto: descriptor_pb2.FileDescriptorProto) -> str:
    """proto3 source of a file made of messages, enums and one service (what solutions use)."""
    lines = [
        "// Generated by Modelbay from the solution's nodes. Do not edit.",
        'syntax = "proto3";',
        "",
        f"package {file_proto.package};",
    ]
    for service in file_proto.service:
        lines += ["", f"service {service.name} {{"]
        lines += [
            f"  rpc {m.name} ({_relative(file_proto, m.input_type)}) "
            f"returns ({_relative(file_proto, m.output_type)});"
            for m in service.method
        ]
        lines.append("}")
    for enum in file_proto.enum_type:
        lines += ["", *_enum_lines(enum, "")]
    for message in file_proto.message_type:
        lines += ["", *_message_lines(file_proto, message, "")]
    return "\n".join(lines) + "\n"


def _enum_lines(enum: descriptor_pb2.EnumDescriptorProto, indent: str) -> list[str]:
    body = [f"{indent}  {value.name} = {value.number};" for value in enum.value]
    return [f"{indent}enum {enum.name} {{", *body, f"{indent}}}"]


def _message_lines(
    file_proto: descriptor_pb2.FileDescriptorProto,
    message: descriptor_pb2.DescriptorProto,
    indent: str,
) -> list[str]:
    entries = {n.name: n for n in message.nested_type if n.options.map_entry}
    lines = [f"{indent}message {message.name} {{"]
    for enum in message.enum_type:
        lines += _enum_lines(enum, indent + "  ")
    for nested in message.nested_type:
        if not nested.options.map_entry:
            lines += _message_lines(file_proto, nested, indent + "  ")
    real_oneofs: dict[int, list[str]] = {}
    for field in message.field:
        text = _field_text(file_proto, field, entries)
        if field.HasField("oneof_index") and not field.proto3_optional:
            real_oneofs.setdefault(field.oneof_index, []).append(text)
        else:
            lines.append(f"{indent}  {text}")
    for index, texts in sorted(real_oneofs.items()):
        lines.append(f"{indent}  oneof {message.oneof_decl[index].name} {{")
        lines += [f"{indent}    {text}" for text in texts]
        lines.append(f"{indent}  }}")
    lines.append(f"{indent}}}")
    return lines


def _field_text(
    file_proto: descriptor_pb2.FileDescriptorProto,
    field: descriptor_pb2.FieldDescriptorProto,
    entries: dict[str, descriptor_pb2.DescriptorProto],
) -> str:
    entry_name = field.type_name.rsplit(".", 1)[-1]
    if field.label == _FDP.LABEL_REPEATED and entry_name in entries:
        key, value = entries[entry_name].field[0], entries[entry_name].field[1]
        kind = f"map<{_type_text(file_proto, key)}, {_type_text(file_proto, value)}>"
    else:
        kind = _type_text(file_proto, field)
        if field.label == _FDP.LABEL_REPEATED:
            kind = f"repeated {kind}"
        elif field.proto3_optional:
            kind = f"optional {kind}"
    return f"{kind} {field.name} = {field.number};"


def _type_text(
    file_proto: descriptor_pb2.FileDescriptorProto, field: descriptor_pb2.FieldDescriptorProto
) -> str:
    if field.type in (_FDP.TYPE_MESSAGE, _FDP.TYPE_ENUM):
        return _relative(file_proto, field.type_name)
    return _SCALAR_NAMES[field.type]


def _relative(file_proto: descriptor_pb2.FileDescriptorProto, type_name: str) -> str:
    """`.modelbay.sol.In` → `In`, within the file's own package."""
    prefix = f".{file_proto.package}."
    return type_name[len(prefix) :] if type_name.startswith(prefix) else type_name
