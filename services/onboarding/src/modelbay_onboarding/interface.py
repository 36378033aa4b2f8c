"""What onboarding derives from a validated bundle's interface: the model's OpenAPI document and
the method signatures the `ModelUploaded` event carries for the catalog.

The OpenAPI document is built by the model server's own generator, so the file stored at upload
is the document the image will serve (the builder puts it in the image label too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelbay_common.events import InterfaceField, MethodInterface
from modelbay_runtime.server.openapi import build_openapi
from modelbay_runtime.types import TypeSpec

from modelbay_onboarding.validation.bundle import ValidatedBundle

_SCALAR_NAMES = {"double": "float", "float": "float32", "bytes": "bytes", "bool": "bool"}


@dataclass(frozen=True)
class _SchemaOnlyMethod:
    """A method as the OpenAPI generator reads it: names and JSON Schemas only.

    The type tree proper (`input_spec`) needs the classes inside the pickle, which onboarding
    never loads; the generator does not read it.
    """

    name: str
    description: str
    input_message: str
    output_message: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    batchable: bool

    @property
    def input_spec(self) -> TypeSpec:
        raise NotImplementedError("onboarding never rebuilds type trees from the pickle")

    @property
    def output_spec(self) -> TypeSpec:
        raise NotImplementedError("onboarding never rebuilds type trees from the pickle")

    def call(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError("onboarding never runs a model")


@dataclass(frozen=True)
class _SchemaOnlyModel:
    name: str
    manifest: dict[str, Any]
    proto_text: str
    descriptor_set: bytes
    methods: Mapping[str, _SchemaOnlyMethod]


def model_openapi(bundle: ValidatedBundle, model_name: str, version: int) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the model's REST API for `version`."""
    methods = {
        name: _SchemaOnlyMethod(
            name=name,
            description=method.description,
            input_message=method.input_message,
            output_message=method.output_message,
            input_schema=dict(bundle.schemas[name]["input"]),
            output_schema=dict(bundle.schemas[name]["output"]),
            batchable=method.batchable,
        )
        for name, method in bundle.manifest.methods.items()
    }
    model = _SchemaOnlyModel(
        name=model_name,
        manifest=bundle.manifest.model_dump(mode="json"),
        proto_text=bundle.proto_text,
        descriptor_set=bundle.descriptor_set,
        methods=methods,
    )
    return build_openapi(model, str(version))


def method_signatures(bundle: ValidatedBundle) -> tuple[MethodInterface, ...]:
    """Per method: messages and their fields with readable types, for catalog search."""
    return tuple(
        MethodInterface(
            name=name,
            description=method.description,
            input_message=method.input_message,
            output_message=method.output_message,
            inputs=_fields(method.input_type),
            outputs=_fields(method.output_type),
        )
        for name, method in bundle.manifest.methods.items()
    )


def _fields(type_tree: Mapping[str, Any]) -> tuple[InterfaceField, ...]:
    return tuple(
        InterfaceField(name=str(field["name"]), type=type_name(field.get("type", {})))
        for field in type_tree.get("fields", [])
        if isinstance(field, Mapping) and field.get("name")
    )


def type_name(tree: Any) -> str:
    """A short, readable name of a manifest type tree node: `list[float]`, `IrisIn`, ..."""
    if not isinstance(tree, Mapping):
        return ""
    kind = tree.get("kind")
    if kind == "scalar":
        proto = str(tree.get("proto", ""))
        return str(tree.get("numpy_dtype") or _SCALAR_NAMES.get(proto, proto))
    if kind == "list":
        return f"list[{type_name(tree.get('item'))}]"
    if kind == "optional":  # Optional[T] / T | None: proto3 optional
        return f"{type_name(tree.get('item'))} | None"
    if kind == "map":
        return f"dict[str, {type_name(tree.get('value'))}]"
    if kind == "array":
        dimensions = ", ".join("?" if size is None else str(size) for size in tree.get("shape", []))
        return f"ndarray[{tree.get('dtype')}, ({dimensions})]"
    return str(tree.get("name", kind or ""))
