"""The model as the serving process sees it when the model runs in a process of its own.

The model process (`model_worker.py`) unpickles the bundle; the serving process never does, so
it holds no copy of the model's weights and never imports the model's libraries. What the
serving process needs is the model's *shape*: names, messages, schemas and the type specs its
protobuf codec and OIP tensors read. The worker sends that once, as plain data (`shell_of`),
and the serving process rebuilds it here (`model_from_shell`).

Type specs travel as the manifest's JSON (`loader_specs.spec_to_json`) rather than pickled:
a spec may name the contributor's own classes (a NamedTuple input, an Enum), which exist only
where the pickle was loaded. The serving process's codec never builds those classes (it turns
protobuf into natural-JSON dicts and back), so the rebuilt specs carry no class for messages and
a stand-in Enum (same names and numbers) for enums.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

from modelbay_runtime.server.model import ServableModel
from modelbay_runtime.types import (
    ArraySpec,
    DataFrameSpec,
    EnumSpec,
    EnumValue,
    FieldSpec,
    ListSpec,
    MapSpec,
    MessageKind,
    MessageSpec,
    OptionalSpec,
    ProtoScalar,
    ScalarSpec,
    TypeSpec,
)


@dataclass(frozen=True)
class RemoteMethod:
    """A method whose calls go to the model process (through the server's runner)."""

    name: str
    description: str
    input_message: str
    output_message: str
    input_spec: MessageSpec
    output_spec: MessageSpec
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    batchable: bool

    def call(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError(f"method {self.name!r} runs in the model process; call the runner")


@dataclass(frozen=True)
class RemoteModel:
    name: str
    manifest: dict[str, Any]
    proto_text: str
    descriptor_set: bytes
    methods: dict[str, RemoteMethod]


def shell_of(model: ServableModel) -> dict[str, Any]:
    """What the serving process needs of a loaded model, as plain picklable data."""
    from modelbay_runtime.loader_specs import spec_to_json

    return {
        "name": model.name,
        "manifest": model.manifest,
        "proto_text": model.proto_text,
        "descriptor_set": model.descriptor_set,
        "methods": [
            {
                "name": method.name,
                "description": method.description,
                "input_message": method.input_message,
                "output_message": method.output_message,
                "input_type": spec_to_json(method.input_spec),
                "output_type": spec_to_json(method.output_spec),
                "input_schema": method.input_schema,
                "output_schema": method.output_schema,
                "batchable": method.batchable,
            }
            for method in model.methods.values()
        ],
    }


def model_from_shell(shell: Mapping[str, Any]) -> RemoteModel:
    methods = {}
    for entry in shell["methods"]:
        methods[entry["name"]] = RemoteMethod(
            name=entry["name"],
            description=entry["description"],
            input_message=entry["input_message"],
            output_message=entry["output_message"],
            input_spec=_message(spec_from_json(entry["input_type"])),
            output_spec=_message(spec_from_json(entry["output_type"])),
            input_schema=entry["input_schema"],
            output_schema=entry["output_schema"],
            batchable=entry["batchable"],
        )
    return RemoteModel(
        name=shell["name"],
        manifest=shell["manifest"],
        proto_text=shell["proto_text"],
        descriptor_set=shell["descriptor_set"],
        methods=methods,
    )


def spec_from_json(tree: Mapping[str, Any]) -> TypeSpec:
    """The inverse of `loader_specs.spec_to_json`, without the contributor's classes."""
    kind = tree["kind"]
    if kind == "scalar":
        return ScalarSpec(cast(ProtoScalar, tree["proto"]), tree.get("numpy_dtype"))
    if kind == "enum":
        values = tuple(EnumValue(v["name"], int(v["number"])) for v in tree["values"])
        # A stand-in with the same members: only names and numbers are read on this side.
        stand_in = Enum(str(tree["name"]), [(v.name, v.number) for v in values])  # type: ignore[misc]
        return EnumSpec(tree["name"], stand_in, values, tree.get("zero_name"))
    if kind == "list":
        return ListSpec(spec_from_json(tree["item"]))
    if kind == "map":
        return MapSpec(spec_from_json(tree["value"]))
    if kind == "array":
        return ArraySpec(tree["dtype"], tuple(tree["shape"]))
    if kind == "optional":
        return OptionalSpec(spec_from_json(tree["item"]))
    if kind in ("message", "dataframe"):
        fields = tuple(
            FieldSpec(f["name"], spec_from_json(f["type"]), int(f["number"]))
            for f in tree["fields"]
        )
        spec_class = DataFrameSpec if kind == "dataframe" else MessageSpec
        return spec_class(tree["name"], fields, cast(MessageKind, tree["message_kind"]))
    raise ValueError(f"unknown spec kind {kind!r}")


def _message(spec: TypeSpec) -> MessageSpec:
    if not isinstance(spec, MessageSpec):
        raise ValueError(f"a method's input and output are messages, not {type(spec).__name__}")
    return spec
