"""Natural JSON → Python decoders, compiled once per `TypeSpec` into closures.

The success path of each closure does one `type(...) is ...` check per value; everything
lenient (int64 as string, NaN as "NaN", base64 bytes, numpy input) lives on a slow path, and the
error path re-walks a failed container to name the exact index.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
from collections.abc import Callable, Mapping
from typing import Any

from modelbay_runtime._codec_errors import InputError, json_type_name
from modelbay_runtime._codec_tabular import array_decoder, dataframe_decoder
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
    enum_proto_values,
)

Decoder = Callable[[Any], Any]
Default = Callable[[], Any]

_SPECIAL_FLOATS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def build_decoder(spec: TypeSpec, compile_decoder: Callable[[TypeSpec], Decoder]) -> Decoder:
    """A closure turning natural JSON for `spec` into its Python value (InputError if bad).
    `compile_decoder` is the caching entry point, used for children."""
    if isinstance(spec, ScalarSpec):
        return _scalar_decoder(spec)
    if isinstance(spec, EnumSpec):
        return _enum_decoder(spec)
    if isinstance(spec, ListSpec):
        return _list_decoder(compile_decoder(spec.item), _plain_types(spec.item))
    if isinstance(spec, MapSpec):
        return _map_decoder(compile_decoder(spec.value))
    if isinstance(spec, ArraySpec):
        return array_decoder(spec, compile_decoder)
    if isinstance(spec, DataFrameSpec):
        return dataframe_decoder(spec, compile_decoder, _message_decoder)
    if isinstance(spec, MessageSpec):
        return _message_decoder(spec, compile_decoder)
    if isinstance(spec, OptionalSpec):
        present = compile_decoder(spec.item)
        return lambda value: None if value is None else present(value)
    raise TypeError(f"no decoder for {spec!r}")


def default_of(spec: TypeSpec, compile_decoder: Callable[[TypeSpec], Decoder]) -> Default:
    """A factory of the proto3 default Python value of `spec` (a missing or null field); an
    optional field's is None, the absent value."""
    if isinstance(spec, OptionalSpec):
        return lambda: None
    if isinstance(spec, ScalarSpec):
        zero = _scalar_decoder(spec)({"bool": False, "string": "", "bytes": b""}.get(spec.proto, 0))
        return lambda: zero
    if isinstance(spec, EnumSpec):
        member = _enum_decoder(spec)(0)
        return lambda: member
    if isinstance(spec, ListSpec):
        return list
    if isinstance(spec, MapSpec):
        return dict
    decode = compile_decoder(spec)
    return lambda: decode([] if isinstance(spec, ArraySpec) else {})


# --- scalars ---------------------------------------------------------------------------------


def _scalar_decoder(spec: ScalarSpec) -> Decoder:
    base = _BASE_SCALAR_DECODERS[spec.proto](spec.proto)
    if spec.numpy_dtype is None:
        return base
    import numpy as np

    numpy_type = np.dtype(spec.numpy_dtype).type
    return lambda value: numpy_type(base(value))


def _int_decoder(proto: str) -> Decoder:
    low, high = INT_RANGES[proto]

    def decode_int(value: Any) -> int:
        if type(value) is int and low <= value <= high:
            return value
        return _int_slow(value, proto, low, high)

    return decode_int


def _int_slow(value: Any, proto: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise InputError("", f"expected an integer ({proto}), got a boolean")
    try:
        number = operator.index(value)  # Python and numpy integers
    except TypeError:
        number = _int_from_float_or_string(value, proto)
    if not low <= number <= high:
        raise InputError("", f"{number} is out of range for {proto}")
    return number


def _int_from_float_or_string(value: Any, proto: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):  # proto3 JSON writes 64-bit integers as decimal strings
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise InputError("", f"expected an integer ({proto}), got {json_type_name(value)}")


def _float_decoder(proto: str) -> Decoder:
    def decode_float(value: Any) -> float:
        kind = type(value)
        if kind is float:
            return value  # type: ignore[no-any-return]
        if kind is int:
            return float(value)
        return _float_slow(value, proto)

    return decode_float


def _float_slow(value: Any, proto: str) -> float:
    if isinstance(value, str):
        special = _SPECIAL_FLOATS.get(value)
        if special is not None:
            return special
        try:
            return float(value)  # proto3 JSON also accepts numbers written as strings
        except ValueError:
            pass
    elif not isinstance(value, bool) and hasattr(value, "__float__"):
        return float(value)  # numpy scalars
    raise InputError("", f"expected a number ({proto}), got {json_type_name(value)}")


def _bool_decoder(proto: str) -> Decoder:
    def decode_bool(value: Any) -> bool:
        if value is True or value is False:
            return bool(value)
        if type(value).__name__ == "bool" and hasattr(value, "item"):  # numpy.bool
            return bool(value)
        raise InputError("", f"expected a boolean, got {json_type_name(value)}")

    return decode_bool


def _string_decoder(proto: str) -> Decoder:
    def decode_string(value: Any) -> str:
        if type(value) is str:
            return value
        if isinstance(value, str):
            return str(value)
        raise InputError("", f"expected a string, got {json_type_name(value)}")

    return decode_string


def _bytes_decoder(proto: str) -> Decoder:
    def decode_bytes(value: Any) -> bytes:
        if type(value) is bytes:
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        if isinstance(value, str):
            return _base64(value)
        raise InputError("", f"expected base64 text or bytes, got {json_type_name(value)}")

    return decode_bytes


def _base64(text: str) -> bytes:
    # proto3 JSON accepts standard and URL-safe alphabets, with or without padding.
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InputError("", "expected base64 text") from None


_BASE_SCALAR_DECODERS: dict[str, Callable[[str], Decoder]] = {
    "double": _float_decoder,
    "float": _float_decoder,
    "int64": _int_decoder,
    "int32": _int_decoder,
    "uint64": _int_decoder,
    "uint32": _int_decoder,
    "bool": _bool_decoder,
    "string": _string_decoder,
    "bytes": _bytes_decoder,
}


# --- enums, lists, maps ----------------------------------------------------------------------


def _enum_decoder(spec: EnumSpec) -> Decoder:
    members = {m.name: m for m in spec.python_class}
    by_name: dict[str, Any] = {v.name: members[v.name] for v in spec.values}
    by_number: dict[int, Any] = {v.number: members[v.name] for v in spec.values}
    for proto_name, number in enum_proto_values(spec):
        by_name.setdefault(proto_name, by_number.get(number))
    if spec.zero_name is not None:
        by_name[spec.zero_name] = None
        by_number[0] = None
    allowed = ", ".join(v.name for v in spec.values)
    enum_class = spec.python_class

    def decode_enum(value: Any) -> Any:
        table: Mapping[Any, Any] = by_name if type(value) is str else by_number
        try:
            return table[value]
        except (KeyError, TypeError):
            if isinstance(value, enum_class):
                return value
            raise InputError("", f"expected one of {allowed}, got {value!r}"[:200]) from None

    return decode_enum


def _plain_types(item: TypeSpec) -> tuple[frozenset[type], Callable[[Any], Any]] | None:
    """For float and int columns: the JSON types that need no per-item check, and the C-level
    conversion that applies to the whole list (ints are range-checked with min/max)."""
    if not isinstance(item, ScalarSpec) or item.numpy_dtype is not None:
        return None
    if item.proto in ("double", "float"):
        return frozenset({float, int}), float
    if item.proto in INT_RANGES:
        return frozenset({int}), int
    return None


def _list_decoder(
    item: Decoder, plain: tuple[frozenset[type], Callable[[Any], Any]] | None = None
) -> Decoder:
    plain_types, convert = plain or (frozenset(), float)

    def decode_list(value: Any) -> list[Any]:
        if type(value) is not list and not isinstance(value, list | tuple):
            if hasattr(value, "tolist"):  # numpy arrays from the protobuf path
                value = value.tolist()
            else:
                raise InputError("", f"expected a list, got {json_type_name(value)}")
        # Fast path for numeric columns: one C-level pass to check types, one to convert.
        if plain_types and plain_types.issuperset(map(type, value)):
            if convert is float:
                return list(map(float, value))
            if _ints_in_range(item, value):
                return list(value)
        try:
            return [item(element) for element in value]
        except InputError:
            _raise_at_failing_index(value, item)
            raise

    return decode_list


def _ints_in_range(item: Decoder, values: Any) -> bool:
    """True when the smallest and largest int both decode (so every int is in range)."""
    if not values:
        return True
    try:
        item(min(values))
        item(max(values))
    except InputError:
        return False
    return True


def _raise_at_failing_index(values: Any, decode: Decoder) -> None:
    for index, element in enumerate(values):
        try:
            decode(element)
        except InputError as exc:
            raise exc.at(f"[{index}]") from None


def _map_decoder(value_decoder: Decoder) -> Decoder:
    def decode_map(value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise InputError("", f"expected an object, got {json_type_name(value)}")
        result = {}
        for key, element in value.items():
            if type(key) is not str:
                raise InputError("", f"map keys must be strings, got {key!r}")
            try:
                result[key] = value_decoder(element)
            except InputError as exc:
                raise exc.at(f"[{json.dumps(key)}]") from None
        return result

    return decode_map


# --- messages --------------------------------------------------------------------------------


def _message_decoder(spec: MessageSpec, compile_decoder: Callable[[TypeSpec], Decoder]) -> Decoder:
    names = spec.field_names
    known = frozenset(names)
    plan = [
        (f.name, compile_decoder(f.spec), default_of(f.spec, compile_decoder)) for f in spec.fields
    ]
    build = _message_builder(spec)

    def decode_message(value: Any) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise InputError("", f"expected an object, got {json_type_name(value)}")
        if not known.issuperset(value):
            unknown = sorted(str(k) for k in value if k not in known)
            raise InputError(
                unknown[0], f"unknown field (fields of {spec.name}: {', '.join(names)})"
            )
        values = []
        for name, decode, default in plan:
            raw = value.get(name)
            if raw is None:
                values.append(default())
                continue
            try:
                values.append(decode(raw))
            except InputError as exc:
                raise exc.at(name) from None
        return build(values)

    return decode_message


def _message_builder(spec: MessageSpec) -> Callable[[list[Any]], Any]:
    cls = spec.python_class
    names = spec.field_names
    if cls is None:
        return lambda values: dict(zip(names, values, strict=True))
    if spec.kind == "namedtuple":
        return lambda values: _construct(cls, lambda: cls(*values))
    return lambda values: _construct(cls, lambda: cls(**dict(zip(names, values, strict=True))))


def _construct(cls: type, make: Callable[[], Any]) -> Any:
    # A ValueError from the class itself (pydantic validation, a __post_init__ check) is the
    # caller's bad input, not a server fault.
    try:
        return make()
    except ValueError as exc:
        path, message = _validation_location(exc)
        raise InputError(path, f"{cls.__name__}: {message}") from None


def _validation_location(exc: ValueError) -> tuple[str, str]:
    errors = getattr(exc, "errors", None)  # pydantic.ValidationError
    if callable(errors):
        first = errors()[0]
        path = ".".join(str(part) for part in first.get("loc", ()))
        return path, str(first.get("msg", exc))
    return "", str(exc)
