"""JSON Schema (draft 2020-12) of the natural JSON bodies, for OpenAPI.

Describes what the codec produces and accepts canonically: numbers for floats (plus the proto3
JSON strings "NaN", "Infinity", "-Infinity"), integers for ints, enum member names, base64 for
bytes, nested arrays for n-d arrays. Nested messages and enums go to `$defs`.
"""

from __future__ import annotations

from typing import Any

from modelbay_runtime.types import (
    INT_RANGES,
    ArraySpec,
    EnumSpec,
    ListSpec,
    MapSpec,
    MessageSpec,
    OptionalSpec,
    ScalarSpec,
    TypeSpec,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]


def message_schema(spec: MessageSpec) -> Schema:
    """A standalone JSON Schema of the JSON object of message `spec`."""
    defs: dict[str, Schema] = {}
    root = _object_schema(spec, defs)
    schema: Schema = {"$schema": DRAFT, **root}
    if defs:
        schema["$defs"] = defs
    return schema


def _object_schema(spec: MessageSpec, defs: dict[str, Schema]) -> Schema:
    schema: Schema = {
        "title": spec.name,
        "type": "object",
        "properties": {f.name: _schema(f.spec, defs) for f in spec.fields},
        "additionalProperties": False,
    }
    doc = _class_doc(spec)
    if doc:
        schema["description"] = doc
    return schema


def _class_doc(spec: MessageSpec) -> str:
    doc = (spec.python_class.__doc__ or "") if spec.python_class is not None else ""
    # NamedTuple and dataclass invent a docstring from the signature; it says nothing new.
    return "" if doc.startswith(f"{spec.name}(") else doc.strip()


def _schema(spec: TypeSpec, defs: dict[str, Schema]) -> Schema:
    if isinstance(spec, ScalarSpec):
        return scalar_schema(spec.proto)
    if isinstance(spec, ListSpec):
        return {"type": "array", "items": _schema(spec.item, defs)}
    if isinstance(spec, MapSpec):
        return {"type": "object", "additionalProperties": _schema(spec.value, defs)}
    if isinstance(spec, ArraySpec):
        return _array_schema(spec)
    if isinstance(spec, EnumSpec):
        names: list[str | None] = [v.name for v in spec.values]
        if spec.zero_name is not None:
            names.append(None)
        defs.setdefault(spec.name, {"title": spec.name, "enum": names})
        return {"$ref": f"#/$defs/{spec.name}"}
    if isinstance(spec, MessageSpec):
        if spec.name not in defs:
            defs[spec.name] = {}  # placeholder first: shared children are emitted once
            defs[spec.name] = _object_schema(spec, defs)
        return {"$ref": f"#/$defs/{spec.name}"}
    if isinstance(spec, OptionalSpec):
        # null (or a missing key) is the absent value; the codec writes null when it is absent.
        return {"anyOf": [_schema(spec.item, defs), {"type": "null"}]}
    raise TypeError(f"no JSON Schema for {spec!r}")


_SPECIAL_FLOATS = {"enum": ["NaN", "Infinity", "-Infinity"]}


def scalar_schema(proto: str) -> Schema:
    """The JSON Schema of one proto3 scalar in natural JSON."""
    if proto in ("double", "float"):
        return {"anyOf": [{"type": "number", "format": proto}, _SPECIAL_FLOATS]}
    if proto in INT_RANGES:
        low, high = INT_RANGES[proto]
        return {"type": "integer", "format": proto, "minimum": low, "maximum": high}
    if proto == "bytes":
        return {"type": "string", "contentEncoding": "base64"}
    return {"type": {"bool": "boolean", "string": "string"}[proto]}


def _array_schema(spec: ArraySpec) -> Schema:
    schema = scalar_schema(spec.element.proto)
    for size in reversed(spec.shape):
        schema = {"type": "array", "items": schema}
        if size is not None:
            schema["minItems"] = schema["maxItems"] = size
    return schema
