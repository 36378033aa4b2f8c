"""Open Inference Protocol v2 tensors: which methods map to tensors, and tensor <-> column.

A method maps to tensors when every field of its input and output messages is a repeated
scalar (a column) or an n-d array (a tensor message `{repeated int64 shape; repeated T values}`,
as ONNX models have): each field becomes one tensor named like the field, shape `[n]` for a
column and the array's own shape otherwise (row-major data), with the datatype below. Binary
data follows the binary tensor extension (little-endian, BYTES as 4-byte length + bytes, BOOL as
one byte).
"""

from __future__ import annotations

import array
import base64
import math
import struct
import sys
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from modelbay_runtime.server.problem import ProblemError
from modelbay_runtime.types import TENSOR_VALUES_FIELD, ArraySpec, MessageSpec, TypeSpec

_FD = FieldDescriptor
DATATYPE_OF_FIELD: dict[int, str] = {
    _FD.TYPE_DOUBLE: "FP64",
    _FD.TYPE_FLOAT: "FP32",
    _FD.TYPE_INT64: "INT64",
    _FD.TYPE_SINT64: "INT64",
    _FD.TYPE_SFIXED64: "INT64",
    _FD.TYPE_INT32: "INT32",
    _FD.TYPE_SINT32: "INT32",
    _FD.TYPE_SFIXED32: "INT32",
    _FD.TYPE_UINT64: "UINT64",
    _FD.TYPE_FIXED64: "UINT64",
    _FD.TYPE_UINT32: "UINT32",
    _FD.TYPE_FIXED32: "UINT32",
    _FD.TYPE_BOOL: "BOOL",
    _FD.TYPE_STRING: "BYTES",
    _FD.TYPE_BYTES: "BYTES",
}
# array-module typecodes with the byte size each must have (checked: platform-dependent).
_ARRAY_CODES = {
    "FP64": "d",
    "FP32": "f",
    "INT64": "q",
    "INT32": "i",
    "INT16": "h",
    "INT8": "b",
    "UINT64": "Q",
    "UINT32": "I",
    "UINT16": "H",
    "UINT8": "B",
}
_SIZES = {"FP64": 8, "FP32": 4, "INT64": 8, "INT32": 4, "INT16": 2, "INT8": 1, "UINT64": 8}
_SIZES.update({"UINT32": 4, "UINT16": 2, "UINT8": 1, "BOOL": 1})
_FLOAT_TYPES = {"FP64", "FP32", "FP16"}
_INT_TYPES = {"INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"}


@dataclass(frozen=True)
class TensorField:
    name: str
    datatype: str
    is_bytes: bool  # a proto `bytes` field: natural JSON carries it as base64 text
    rank: int = 1  # > 1: an n-d array (tensor message); natural JSON nests its rows

    def metadata(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": [-1] * self.rank}


@dataclass(frozen=True)
class TensorSignature:
    inputs: tuple[TensorField, ...]
    outputs: tuple[TensorField, ...]

    @classmethod
    def of(
        cls, input_desc: Descriptor, output_desc: Descriptor, ranks: dict[str, int] | None = None
    ) -> TensorSignature | None:
        """`ranks`: field name → rank of the method's n-d array fields (`array_ranks`)."""
        inputs = _tensor_fields(input_desc, ranks or {})
        outputs = _tensor_fields(output_desc, ranks or {})
        if inputs is None or outputs is None:
            return None
        return cls(inputs, outputs)


def array_ranks(*messages: TypeSpec) -> dict[str, int]:
    """The rank of every n-d array field (2 or more dimensions) of the messages."""
    return {
        field.name: field.spec.ndim
        for message in messages
        if isinstance(message, MessageSpec)
        for field in message.fields
        if isinstance(field.spec, ArraySpec) and field.spec.ndim > 1
    }


def _tensor_fields(desc: Descriptor, ranks: dict[str, int]) -> tuple[TensorField, ...] | None:
    found: list[TensorField] = []
    for field in desc.fields:
        if field.name in ranks and field.message_type is not None:
            values = field.message_type.fields_by_name.get(TENSOR_VALUES_FIELD)
            datatype = DATATYPE_OF_FIELD.get(values.type) if values is not None else None
            if datatype is None or field.is_repeated:
                return None
            found.append(TensorField(field.name, datatype, False, ranks[field.name]))
            continue
        datatype = DATATYPE_OF_FIELD.get(field.type)
        if not field.is_repeated or datatype is None:
            return None
        found.append(TensorField(field.name, datatype, field.type == _FD.TYPE_BYTES))
    return tuple(found) if found else None


def bad_tensor(message: str, field: str | None = None) -> ProblemError:
    # `error` is the member OIP clients (tritonclient) read; the rest is RFC 9457.
    return ProblemError(
        400,
        "invalid-tensor",
        "Invalid inference request",
        message,
        field=field,
        extra={"error": message},
    )


def column_from_json(field: TensorField, tensor: dict[str, Any]) -> list[Any]:
    data = tensor.get("data")
    if not isinstance(data, list):
        raise bad_tensor(f"input '{field.name}' has no 'data' list", field.name)
    flat = _flatten(data)
    _check_shape(field, tensor.get("shape"), len(flat))
    return _nest(_coerce(field, tensor.get("datatype"), flat), tensor["shape"], field)


def column_from_binary(field: TensorField, tensor: dict[str, Any], raw: bytes) -> list[Any]:
    datatype = tensor.get("datatype")
    if datatype == "BYTES":
        values: list[Any] = _unpack_bytes(field, raw)
    elif datatype == "BOOL":
        values = [b != 0 for b in raw]
    elif isinstance(datatype, str) and datatype in _ARRAY_CODES:
        values = _unpack_numbers(field, datatype, raw)
    else:
        raise bad_tensor(f"input '{field.name}': unsupported datatype {datatype!r}", field.name)
    _check_shape(field, tensor.get("shape"), len(values))
    return _nest(_coerce(field, datatype, values), tensor["shape"], field)


def column_to_json(field: TensorField, values: list[Any]) -> dict[str, Any]:
    flat, shape = flatten_output(field, values)
    return {"name": field.name, "datatype": field.datatype, "shape": shape, "data": flat}


def flatten_output(field: TensorField, values: list[Any]) -> tuple[list[Any], list[int]]:
    """An output's row-major data and shape (an n-d array arrives as nested lists)."""
    if field.rank == 1:
        return values, [len(values)]
    shape, level = [], values
    for _ in range(field.rank):
        shape.append(len(level))
        level = level[0] if level else []
    return _flatten(values), shape


def _nest(flat: list[Any], shape: list[int], field: TensorField) -> list[Any]:
    """Row-major data → nested lists of `shape` (natural JSON of an n-d array)."""
    if field.rank == 1 or len(shape) <= 1:
        return flat
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step : (i + 1) * step], shape[1:], field) for i in range(shape[0])]


def column_to_binary(field: TensorField, values: list[Any]) -> bytes:
    if field.datatype == "BYTES":
        parts = []
        for value in values:
            raw = _bytes_value(field, value)
            parts.append(struct.pack("<I", len(raw)) + raw)
        return b"".join(parts)
    if field.datatype == "BOOL":
        return bytes(1 if v else 0 for v in values)
    packed = array.array(_ARRAY_CODES[field.datatype], values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _bytes_value(field: TensorField, value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if field.is_bytes:
        return base64.b64decode(value)
    return str(value).encode()


def _flatten(data: list[Any]) -> list[Any]:
    if not data or not isinstance(data[0], list):
        return data
    flat: list[Any] = []
    for item in data:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


def _check_shape(field: TensorField, shape: Any, count: int) -> None:
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise bad_tensor(f"input '{field.name}': 'shape' must be a list of sizes", field.name)
    if field.rank > 1:
        if len(shape) != field.rank or math.prod(shape) != count:
            raise bad_tensor(
                f"input '{field.name}': shape {shape} does not fit {count} data elements "
                f"of a {field.rank}-d tensor",
                field.name,
            )
        return
    # A column is one value per row: [n], or [n, 1] as column-vector clients send.
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise bad_tensor(
            f"input '{field.name}': shape {shape} is not a column ([n] or [n, 1])", field.name
        )
    if shape[0] != count:
        raise bad_tensor(
            f"input '{field.name}': shape {shape} does not match {count} data elements",
            field.name,
        )


def _coerce(field: TensorField, datatype: Any, values: list[Any]) -> list[Any]:
    """Accept any datatype of the same family as the field's, checking each element."""
    want = field.datatype
    family_ok = (
        (datatype == want)
        or (want in _FLOAT_TYPES and datatype in _FLOAT_TYPES | _INT_TYPES)
        or (want in _INT_TYPES and datatype in _INT_TYPES)
    )
    if not family_ok:
        raise bad_tensor(
            f"input '{field.name}': datatype {datatype!r} does not fit a {want} column",
            field.name,
        )
    if want in _FLOAT_TYPES:
        if not all(type(v) is float or type(v) is int for v in values):
            raise bad_tensor(f"input '{field.name}': expected numbers", field.name)
        return [float(v) for v in values]
    if want in _INT_TYPES:
        if not all(type(v) is int for v in values):
            raise bad_tensor(f"input '{field.name}': expected integers", field.name)
        return values
    if want == "BOOL":
        if not all(type(v) is bool for v in values):
            raise bad_tensor(f"input '{field.name}': expected booleans", field.name)
        return values
    return [_text_value(field, v) for v in values]


def _text_value(field: TensorField, value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii") if field.is_bytes else _utf8(field, value)
    if isinstance(value, str):
        return value
    raise bad_tensor(f"input '{field.name}': expected strings", field.name)


def _utf8(field: TensorField, raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise bad_tensor(f"input '{field.name}': element is not UTF-8 text", field.name) from None


def _unpack_numbers(field: TensorField, datatype: str, raw: bytes) -> list[Any]:
    size = _SIZES[datatype]
    if len(raw) % size:
        raise bad_tensor(
            f"input '{field.name}': {len(raw)} bytes is not a whole number of {datatype}",
            field.name,
        )
    values = array.array(_ARRAY_CODES[datatype])
    if values.itemsize != size:  # exotic platform: fall back to struct
        return list(struct.unpack(f"<{len(raw) // size}{_ARRAY_CODES[datatype]}", raw))
    values.frombytes(raw)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def _unpack_bytes(field: TensorField, raw: bytes) -> list[bytes]:
    values: list[bytes] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise bad_tensor(f"input '{field.name}': truncated BYTES element", field.name)
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise bad_tensor(f"input '{field.name}': truncated BYTES element", field.name)
        values.append(raw[offset : offset + length])
        offset += length
    return values
