"""Python → natural JSON encoders, compiled once per `TypeSpec` into closures.

They accept what models really return: numpy arrays and scalars where lists and scalars are
declared, tuples for lists, dicts or plain tuples for messages, DataFrames. Output is plain
JSON-ready Python (bytes stay `bytes`; NaN and infinities become the proto3 JSON strings).
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from modelbay_runtime._codec_errors import OutputError
from modelbay_runtime.types import (
    INT_RANGES,
    ArraySpec,
    DataFrameSpec,
    EnumSpec,
    ListSpec,
    MapSpec,
    MessageSpec,
    OptionalSpec,
    ScalarSpec,
    TypeSpec,
)

Encoder = Callable[[Any], Any]


def build_encoder(spec: TypeSpec, compile_encoder: Callable[[TypeSpec], Encoder]) -> Encoder:
    """A closure turning a Python value of `spec` into natural JSON (OutputError if it does
    not fit). `compile_encoder` is the caching entry point, used for children."""
    if isinstance(spec, ScalarSpec):
        return _SCALAR_ENCODERS[spec.proto](spec.proto)
    if isinstance(spec, EnumSpec):
        return _enum_encoder(spec)
    if isinstance(spec, ListSpec):
        return _list_encoder(compile_encoder(spec.item))
    if isinstance(spec, MapSpec):
        return _map_encoder(compile_encoder(spec.value))
    if isinstance(spec, ArraySpec):
        return _array_encoder(spec)
    if isinstance(spec, MessageSpec):
        return _message_encoder(spec, compile_encoder)
    if isinstance(spec, OptionalSpec):
        present = compile_encoder(spec.item)
        return lambda value: None if value is None else present(value)
    raise TypeError(f"no encoder for {spec!r}")


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:120]


# --- scalars ---------------------------------------------------------------------------------


def _float_encoder(proto: str) -> Encoder:
    def encode_float(value: Any) -> Any:
        if type(value) is not float:
            value = _to_float(value, proto)
        if value - value == 0.0:  # finite (inf - inf and nan - nan are nan)
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")

    return encode_float


def _to_float(value: Any, proto: str) -> float:
    if isinstance(value, bool | str | bytes) or not hasattr(value, "__float__"):
        raise OutputError("", f"expected a number ({proto}), got {_describe(value)}")
    return float(value)


def _int_encoder(proto: str) -> Encoder:
    low, high = INT_RANGES[proto]

    def encode_int(value: Any) -> int:
        if type(value) is not int:
            value = _to_int(value, proto)
        if not low <= value <= high:
            raise OutputError("", f"{value} is out of range for {proto}")
        return value  # type: ignore[no-any-return]

    return encode_int


def _to_int(value: Any, proto: str) -> int:
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            # Many models (sklearn on float targets) return integral floats for int outputs.
            if hasattr(value, "__float__") and not isinstance(value, str | bytes):
                number = float(value)
                if number.is_integer():
                    return int(number)
    raise OutputError("", f"expected an integer ({proto}), got {_describe(value)}")


def _bool_encoder(proto: str) -> Encoder:
    def encode_bool(value: Any) -> bool:
        if value is True or value is False:
            return bool(value)
        if type(value).__name__ == "bool" and hasattr(value, "item"):  # numpy.bool
            return bool(value)
        raise OutputError("", f"expected a boolean, got {_describe(value)}")

    return encode_bool


def _string_encoder(proto: str) -> Encoder:
    def encode_string(value: Any) -> str:
        if type(value) is str:
            return value
        if isinstance(value, str):  # numpy.str_
            return str(value)
        raise OutputError("", f"expected a string, got {_describe(value)}")

    return encode_string


def _bytes_encoder(proto: str) -> Encoder:
    def encode_bytes(value: Any) -> bytes:
        if type(value) is bytes:
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        raise OutputError("", f"expected bytes, got {_describe(value)}")

    return encode_bytes


_SCALAR_ENCODERS: dict[str, Callable[[str], Encoder]] = {
    "double": _float_encoder,
    "float": _float_encoder,
    "int64": _int_encoder,
    "int32": _int_encoder,
    "uint64": _int_encoder,
    "uint32": _int_encoder,
    "bool": _bool_encoder,
    "string": _string_encoder,
    "bytes": _bytes_encoder,
}


# --- enums, lists, maps ----------------------------------------------------------------------


def _enum_encoder(spec: EnumSpec) -> Encoder:
    enum_class = spec.python_class
    names = {v.name for v in spec.values}
    by_number = {v.number: v.name for v in spec.values}
    allowed = ", ".join(v.name for v in spec.values)

    def encode_enum(value: Any) -> str | None:
        if isinstance(value, enum_class):
            return value.name
        if value is None and spec.zero_name is not None:
            return None
        if isinstance(value, str) and value in names:
            return value
        if isinstance(value, int) and not isinstance(value, bool | Enum) and value in by_number:
            return by_number[value]
        raise OutputError("", f"expected a {spec.name} member ({allowed}), got {_describe(value)}")

    return encode_enum


def _as_list(value: Any) -> Any:
    if type(value) is list or isinstance(value, list | tuple):
        return value
    if hasattr(value, "tolist"):  # numpy arrays, pandas Series
        return value.tolist()
    if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
        raise OutputError("", f"expected a list, got {_describe(value)}")
    return list(value)


def _list_encoder(item: Encoder) -> Encoder:
    def encode_list(value: Any) -> list[Any]:
        values = _as_list(value)
        try:
            return [item(element) for element in values]
        except OutputError:
            for index, element in enumerate(values):
                try:
                    item(element)
                except OutputError as exc:
                    raise exc.at(f"[{index}]") from None
            raise

    return encode_list


def _map_encoder(value_encoder: Encoder) -> Encoder:
    def encode_map(value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise OutputError("", f"expected a dict, got {_describe(value)}")
        result = {}
        for key, element in value.items():
            if not isinstance(key, str):
                raise OutputError("", f"map keys must be strings, got {key!r}")
            try:
                result[str(key)] = value_encoder(element)
            except OutputError as exc:
                raise exc.at(f"[{json.dumps(key)}]") from None
        return result

    return encode_map


# --- messages --------------------------------------------------------------------------------

_MISSING = object()


def _message_encoder(spec: MessageSpec, compile_encoder: Callable[[TypeSpec], Encoder]) -> Encoder:
    names = spec.field_names
    plan = [
        (f.name, compile_encoder(f.spec), _json_default(f.spec, compile_encoder))
        for f in spec.fields
    ]
    read = _dataframe_reader(names) if isinstance(spec, DataFrameSpec) else _field_reader(spec)

    def encode_message(value: Any) -> dict[str, Any]:
        raw_values = read(value)
        result = {}
        for (name, encode, default), raw in zip(plan, raw_values, strict=True):
            if raw is _MISSING or raw is None:
                result[name] = default()
                continue
            try:
                result[name] = encode(raw)
            except OutputError as exc:
                raise exc.at(name) from None
        return result

    return encode_message


def _json_default(
    spec: TypeSpec, compile_encoder: Callable[[TypeSpec], Encoder]
) -> Callable[[], Any]:
    if isinstance(spec, OptionalSpec):
        return lambda: None  # absent: JSON null, and no field on the protobuf wire
    if isinstance(spec, ScalarSpec):
        zero = {"bool": False, "string": "", "bytes": b""}.get(spec.proto, 0)
        zero = 0.0 if spec.proto in ("double", "float") else zero
        return lambda: zero
    if isinstance(spec, EnumSpec):
        first = None if spec.zero_name else next(v.name for v in spec.values if v.number == 0)
        return lambda: first
    if isinstance(spec, ListSpec | ArraySpec):
        return list
    if isinstance(spec, MapSpec):
        return dict
    encode = compile_encoder(spec)
    return lambda: encode({})


def _field_reader(spec: MessageSpec) -> Callable[[Any], list[Any]]:
    names = spec.field_names
    getters = [operator.attrgetter(n) for n in names]
    cls = spec.python_class

    def read_fields(value: Any) -> list[Any]:
        if cls is not None and type(value) is cls:
            return [get(value) for get in getters]
        if isinstance(value, Mapping):
            unknown = [k for k in value if k not in names]
            if unknown:
                raise OutputError(str(unknown[0]), f"{spec.name} has no such field")
            return [value.get(n, _MISSING) for n in names]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            if len(value) != len(names):
                raise OutputError(
                    "", f"expected {len(names)} values for {spec.name}, got {len(value)}"
                )
            return list(value)
        found = [getattr(value, n, _MISSING) for n in names]
        if all(v is _MISSING for v in found) and names:
            raise OutputError("", f"expected {spec.name}, got {_describe(value)}")
        return found

    return read_fields


def _dataframe_reader(names: tuple[str, ...]) -> Callable[[Any], list[Any]]:
    def read_columns(value: Any) -> list[Any]:
        if isinstance(value, Mapping):
            return [value.get(n, _MISSING) for n in names]
        if not hasattr(value, "columns"):
            raise OutputError("", f"expected a DataFrame, got {_describe(value)}")
        missing = [n for n in names if n not in value.columns]
        if missing:
            raise OutputError(missing[0], "the DataFrame has no such column")
        return [value[n].to_numpy() for n in names]

    return read_columns


# --- numpy arrays ----------------------------------------------------------------------------


def _array_encoder(spec: ArraySpec) -> Encoder:
    import numpy as np

    dtype = np.dtype(spec.dtype)
    element = ScalarSpec(spec.element.proto)
    encode_element = _SCALAR_ENCODERS[element.proto](element.proto)

    def encode_array(value: Any) -> list[Any]:
        try:
            array = np.asarray(value)
        except ValueError:
            raise OutputError("", "ragged nested lists cannot form an array") from None
        if array.ndim != len(spec.shape):
            raise OutputError(
                "", f"expected {len(spec.shape)} dimension(s), got shape {array.shape}"
            )
        for axis, (size, want) in enumerate(zip(array.shape, spec.shape, strict=True)):
            if want is not None and size != want:
                raise OutputError("", f"dimension {axis} must have size {want}, got {size}")
        if array.dtype.kind not in "biuf" or (array.dtype.kind == "b") != (dtype.kind == "b"):
            raise OutputError("", f"expected {dtype.name} values, got dtype {array.dtype}")
        if dtype.kind in "iu" and array.dtype.kind == "f" and not _integral(array, np):
            raise OutputError("", f"expected integers ({dtype.name}), got fractional numbers")
        converted = array.astype(dtype, copy=False)
        encoded: list[Any] = converted.tolist()
        if dtype.kind == "f" and not bool(np.isfinite(converted).all()):
            encoded = _map_nested(encoded, encode_element)
        return encoded

    return encode_array


def _integral(array: Any, np: Any) -> bool:
    return bool(np.all(np.isfinite(array))) and bool(np.all(array == np.floor(array)))


def _map_nested(values: Any, encode: Encoder) -> Any:
    if isinstance(values, list):
        return [_map_nested(v, encode) for v in values]
    return encode(values)
