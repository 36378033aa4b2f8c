"""A model's interface: proto3 text, a serialized `FileDescriptorSet` and JSON Schemas.

`build_interface(model, name)` is the one entry point the bundle writer needs. The descriptor
set is built in Python with `descriptor_pb2` (no protoc at run time) from the same intermediate
form as the text; see `modelbay.proto` for the layout and `modelbay.schema` for the schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2

from modelbay.model import Model
from modelbay.proto import (
    PROTO_FILE_NAME,
    SERVICE_NAME,
    InterfaceError,
    build_proto_file,
    proto_package,
    render_descriptor,
    render_text,
)
from modelbay.schema import message_schema

__all__ = [
    "PROTO_FILE_NAME",
    "SERVICE_NAME",
    "Interface",
    "InterfaceError",
    "MethodInterface",
    "build_interface",
    "proto_package",
]


@dataclass(frozen=True)
class MethodInterface:
    """How one method appears on the wire: fully qualified proto message names and the JSON
    Schemas (draft 2020-12) of the JSON request and response bodies."""

    name: str
    input_message: str
    output_message: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


@dataclass(frozen=True)
class Interface:
    """Everything a bundle and an image need to describe a model's API."""

    package: str  # modelbay.<sanitised model name>
    proto_text: str  # contents of model.proto
    descriptor_set: bytes  # serialized google.protobuf.FileDescriptorSet (one file, model.proto)
    methods: dict[str, MethodInterface]

    def file_descriptor(self) -> descriptor_pb2.FileDescriptorProto:
        """The single `FileDescriptorProto` inside `descriptor_set`."""
        return descriptor_pb2.FileDescriptorSet.FromString(self.descriptor_set).file[0]


def build_interface(model: Model, name: str) -> Interface:
    """Generate the interface of `model` published under `name` (stable for the same model
    and name). Raises InterfaceError for type-name clashes the proto file cannot hold."""
    package = proto_package(name)
    proto_file = build_proto_file(model.methods.values(), package)
    file_set = descriptor_pb2.FileDescriptorSet(file=[render_descriptor(proto_file)])
    names = {rpc: (request, reply) for rpc, request, reply in proto_file.rpcs}
    methods = {
        method.name: MethodInterface(
            name=method.name,
            input_message=f"{package}.{names[method.name][0]}",
            output_message=f"{package}.{names[method.name][1]}",
            input_schema=message_schema(method.input_spec),
            output_schema=message_schema(method.output_spec),
        )
        for method in model.methods.values()
    }
    return Interface(
        package=package,
        proto_text=render_text(proto_file),
        descriptor_set=file_set.SerializeToString(deterministic=True),
        methods=methods,
    )
