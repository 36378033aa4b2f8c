"""TypeSpec ↔ JSON, and the method signatures rebuilt from unpickled functions.

The manifest carries each method's spec tree as JSON so the platform can read and validate a
bundle without unpickling it. At load time the specs are rebuilt from the functions'
annotations (the classes they name come out of the pickle, so decoded values are instances
of the very classes the function expects) and checked against that JSON: SDK and runtime can
never silently disagree about a message layout.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from modelbay_runtime.callables import type_hints_of
from modelbay_runtime.types import (
    WRAPPED_VALUE_FIELD,
    ArraySpec,
    DataFrameSpec,
    EnumSpec,
    FieldSpec,
    ListSpec,
    MapSpec,
    MessageSpec,
    OptionalSpec,
    ScalarSpec,
    TypeSpec,
    spec_of,
)


def spec_to_json(spec: TypeSpec) -> dict[str, Any]:
    """A JSON-ready description of a spec tree (classes by qualified name, for people)."""
    if isinstance(spec, ScalarSpec):
        return {"kind": "scalar", "proto": spec.proto, "numpy_dtype": spec.numpy_dtype}
    if isinstance(spec, EnumSpec):
        return {
            "kind": "enum",
            "name": spec.name,
            "python_class": _class_name(spec.python_class),
            "values": [{"name": v.name, "number": v.number} for v in spec.values],
            "zero_name": spec.zero_name,
        }
    if isinstance(spec, ListSpec):
        return {"kind": "list", "item": spec_to_json(spec.item)}
    if isinstance(spec, MapSpec):
        return {"kind": "map", "key": "string", "value": spec_to_json(spec.value)}
    if isinstance(spec, ArraySpec):
        return {"kind": "array", "dtype": spec.dtype, "shape": list(spec.shape)}
    if isinstance(spec, OptionalSpec):
        return {"kind": "optional", "item": spec_to_json(spec.item)}
    if isinstance(spec, MessageSpec):
        return {
            "kind": "dataframe" if isinstance(spec, DataFrameSpec) else "message",
            "name": spec.name,
            "message_kind": spec.kind,
            "python_class": _class_name(spec.python_class),
            "fields": [
                {"name": f.name, "number": f.number, "type": spec_to_json(f.spec)}
                for f in spec.fields
            ],
        }
    raise TypeError(f"unknown TypeSpec {type(spec).__name__}")


def _class_name(cls: type | None) -> str | None:
    return None if cls is None else f"{cls.__module__}.{cls.__qualname__}"


def input_spec_of(function: Callable[..., Any], *, wrapped: bool, message_name: str) -> MessageSpec:
    """The input message: the single message-typed parameter, or the parameters as fields of
    a synthetic `<Method>In` message numbered 1..n in declaration order."""
    hints = type_hints_of(function)
    parameters = list(inspect.signature(function).parameters)
    if not wrapped:
        spec = spec_of(hints[parameters[0]])
        if not isinstance(spec, MessageSpec):
            raise TypeError(f"{message_name}: the single parameter is not a message type")
        return spec
    fields = tuple(
        FieldSpec(name, spec_of(hints[name]), number)
        for number, name in enumerate(parameters, start=1)
    )
    return MessageSpec(message_name, fields, "synthetic")


def output_spec_of(
    function: Callable[..., Any], *, wrapped: bool, message_name: str
) -> MessageSpec:
    """The output message: the declared message return type, or `<Method>Out { value = 1 }`."""
    returned = spec_of(type_hints_of(function)["return"])
    if not wrapped:
        if not isinstance(returned, MessageSpec):
            raise TypeError(f"{message_name}: the return type is not a message type")
        return returned
    return MessageSpec(message_name, (FieldSpec(WRAPPED_VALUE_FIELD, returned, 1),), "synthetic")
