"""Protobuf message ↔ natural dict, compiled once per `MessageSpec` into closures.

The layout (wrapper messages, tensors) is the one `modelbay_runtime.types` defines and the SDK's
interface generator emits. Readers produce the dicts `to_python` takes (enums by name, n-d arrays
as numpy arrays); writers take the dicts `to_json` produces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

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
    is_tensor,
)

Reader = Callable[[Any], Any]
Writer = Callable[[Any, Any], None]  # (message, natural dict)
_SPECIAL_FLOATS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


# --- protobuf → dict -------------------------------------------------------------------------


def build_message_reader(spec: MessageSpec) -> Callable[[Message], dict[str, Any]]:
    """A closure reading every field of a message of `spec` into a natural dict; an optional
    field the message does not have reads as None."""
    plan = [(f.name, _field_reader(f.spec)) for f in spec.fields]
    optional = frozenset(f.name for f in spec.fields if isinstance(f.spec, OptionalSpec))
    if not optional:

        def read_message(message: Any) -> dict[str, Any]:
            return {name: read(getattr(message, name)) for name, read in plan}

        return read_message

    def read_with_presence(message: Any) -> dict[str, Any]:
        return {
            name: None
            if name in optional and not message.HasField(name)
            else read(getattr(message, name))
            for name, read in plan
        }

    return read_with_presence


def _field_reader(spec: TypeSpec) -> Reader:
    """Reads the attribute value of a field laid out for `spec`."""
    if isinstance(spec, OptionalSpec):
        return _field_reader(spec.item)  # presence is the message reader's to check
    if isinstance(spec, ListSpec):
        item = _element_reader(spec.item)
        if item is None:
            return list
        return lambda values: [item(v) for v in values]
    if isinstance(spec, MapSpec):
        value = _element_reader(spec.value)
        if value is None:
            return dict
        return lambda entries: {k: value(v) for k, v in entries.items()}
    if isinstance(spec, ArraySpec) and not is_tensor(spec):
        return list
    return _element_reader(spec) or _identity


def _element_reader(spec: TypeSpec) -> Reader | None:
    """Reads one repeated element or map value; None means "use as is" (plain scalars)."""
    if isinstance(spec, ScalarSpec):
        return None
    if isinstance(spec, EnumSpec):
        names: dict[int, str | None] = {v.number: v.name for v in spec.values}
        if spec.zero_name is not None:
            names[0] = None
        return lambda number: names.get(number, number)
    if isinstance(spec, MessageSpec):
        return build_message_reader(spec)
    if is_tensor(spec):
        return _tensor_reader(spec)  # type: ignore[arg-type]
    inner = _field_reader(spec)  # a list or map carried in a wrapper message
    wrapper_field = MAP_WRAPPER_FIELD if isinstance(spec, MapSpec) else LIST_WRAPPER_FIELD
    return lambda wrapper: inner(getattr(wrapper, wrapper_field))


def _tensor_reader(spec: ArraySpec) -> Reader:
    import numpy as np

    dtype = np.dtype(spec.dtype)
    empty_shape = tuple(0 if d is None else d for d in spec.shape)

    def read_tensor(tensor: Any) -> Any:
        shape = tuple(getattr(tensor, TENSOR_SHAPE_FIELD))
        values = np.asarray(getattr(tensor, TENSOR_VALUES_FIELD), dtype=dtype)
        if not shape and not values.size:
            return values.reshape(empty_shape)
        return values.reshape(shape)  # a wrong shape is the caller's error, raised as ValueError

    return read_tensor


def _identity(value: Any) -> Any:
    return value


# --- dict → protobuf -------------------------------------------------------------------------


def build_message_writer(spec: MessageSpec) -> Writer:
    """A closure writing a natural dict (as `to_json` returns it) into a message of `spec`."""
    plan = [(f.name, _field_writer(f.name, f.spec)) for f in spec.fields]

    def write_message(message: Any, data: Any) -> None:
        message.SetInParent()
        for name, write in plan:
            value = data.get(name)
            if value is not None:
                write(message, value)

    return write_message


def _field_writer(name: str, spec: TypeSpec) -> Writer:
    if isinstance(spec, OptionalSpec):
        # None is never written (the message writer skips it), so a written optional field is
        # present, even at its zero value: that is what proto3 `optional` keeps.
        return _field_writer(name, spec.item)
    if isinstance(spec, ListSpec) or (isinstance(spec, ArraySpec) and not is_tensor(spec)):
        item = spec.item if isinstance(spec, ListSpec) else spec.element
        return _repeated_writer(name, item)
    if isinstance(spec, MapSpec):
        return _map_writer(name, spec.value)
    if isinstance(spec, ScalarSpec):
        return _scalar_writer(name, spec)
    if isinstance(spec, EnumSpec):
        numbers = _enum_numbers(spec)
        return lambda message, value: setattr(message, name, numbers[value])
    nested = _element_writer(spec)
    return lambda message, value: nested(getattr(message, name), value)


def _scalar_writer(name: str, spec: ScalarSpec) -> Writer:
    if spec.proto in ("double", "float"):
        return lambda message, value: setattr(message, name, _proto_float(value))
    return lambda message, value: setattr(message, name, value)


def _proto_float(value: Any) -> float:
    return value if type(value) is float else float(_SPECIAL_FLOATS.get(value, value))


def _enum_numbers(spec: EnumSpec) -> dict[str | None, int]:
    numbers: dict[str | None, int] = {v.name: v.number for v in spec.values}
    numbers[None] = 0
    return numbers


def _repeated_writer(name: str, item: TypeSpec) -> Writer:
    if isinstance(item, ScalarSpec):
        floats = item.proto in ("double", "float")

        def write_scalars(message: Any, values: Any) -> None:
            container = getattr(message, name)
            try:
                container.extend(values)
            except TypeError:
                if not floats:
                    raise
                container.extend([_proto_float(v) for v in values])

        return write_scalars
    if isinstance(item, EnumSpec):
        numbers = _enum_numbers(item)
        return lambda message, values: getattr(message, name).extend(numbers[v] for v in values)
    element = _element_writer(item)

    def write_elements(message: Any, values: Any) -> None:
        container = getattr(message, name)
        for value in values:
            element(container.add(), value)

    return write_elements


def _map_writer(name: str, value_spec: TypeSpec) -> Writer:
    if isinstance(value_spec, ScalarSpec):
        floats = value_spec.proto in ("double", "float")
        if floats:
            return lambda m, entries: getattr(m, name).update(
                {k: _proto_float(v) for k, v in entries.items()}
            )
        return lambda message, entries: getattr(message, name).update(entries)
    if isinstance(value_spec, EnumSpec):
        numbers = _enum_numbers(value_spec)
        return lambda m, entries: getattr(m, name).update(
            {k: numbers[v] for k, v in entries.items()}
        )
    element = _element_writer(value_spec)

    def write_entries(message: Any, entries: Any) -> None:
        container = getattr(message, name)
        for key, value in entries.items():
            element(container[key], value)

    return write_entries


def _element_writer(spec: TypeSpec) -> Writer:
    """Writes one value into a (sub)message: a real message, a tensor, or a wrapper."""
    if isinstance(spec, MessageSpec):
        return build_message_writer(spec)
    if is_tensor(spec):
        return _tensor_writer(spec)  # type: ignore[arg-type]
    wrapper_field = MAP_WRAPPER_FIELD if isinstance(spec, MapSpec) else LIST_WRAPPER_FIELD
    inner = _field_writer(wrapper_field, spec)

    def write_wrapper(wrapper: Any, value: Any) -> None:
        wrapper.SetInParent()
        inner(wrapper, value)

    return write_wrapper


def _tensor_writer(spec: ArraySpec) -> Writer:
    import numpy as np

    dtype = np.dtype(spec.dtype)

    def write_tensor(tensor: Any, value: Any) -> None:
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":  # "NaN"/"Infinity" strings from to_json
            array = np.vectorize(_proto_float, otypes=[float])(array)
        array = array.astype(dtype, copy=False)
        tensor.SetInParent()
        getattr(tensor, TENSOR_SHAPE_FIELD).extend(array.shape)
        getattr(tensor, TENSOR_VALUES_FIELD).extend(array.ravel().tolist())

    return write_tensor
