"""Decoders for numpy arrays and pandas DataFrames (numpy/pandas imported only when used)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from modelbay_runtime._codec_errors import InputError, json_type_name
from modelbay_runtime.types import (
    ArraySpec,
    DataFrameSpec,
    ListSpec,
    MessageSpec,
    ScalarSpec,
    TypeSpec,
)

Decoder = Callable[[Any], Any]


# --- numpy arrays and DataFrames -------------------------------------------------------------

_ACCEPTED_KINDS = {"f": "fiu", "i": "iuf", "u": "iuf", "b": "b"}


def array_decoder(spec: ArraySpec, compile_decoder: Callable[[TypeSpec], Decoder]) -> Decoder:
    """(Nested) lists or an ndarray → an ndarray of the declared dtype and shape."""
    import numpy as np

    dtype = np.dtype(spec.dtype)
    accepted = _ACCEPTED_KINDS[dtype.kind]
    nested: TypeSpec = ScalarSpec(spec.element.proto)
    for _ in spec.shape:
        nested = ListSpec(nested)
    slow = compile_decoder(nested)  # element-wise, for "NaN" strings, int64 strings, errors

    def decode_array(value: Any) -> Any:
        try:
            array = np.asarray(value)
        except ValueError:
            raise InputError("", "nested lists are ragged: rows must have equal lengths") from None
        if array.dtype.kind not in accepted:
            array = np.asarray(slow(value))
        if array.size == 0:
            array = array.reshape(tuple(0 if d is None else d for d in spec.shape))
        _check_shape(array.shape, spec.shape)
        if dtype.kind in "iu" and array.dtype.kind == "f":
            _check_integral(array, np)
        return _cast(array, dtype, np)

    return decode_array


def _check_shape(actual: tuple[int, ...], declared: tuple[int | None, ...]) -> None:
    if len(actual) != len(declared):
        raise InputError("", f"expected {len(declared)} dimension(s), got {len(actual)}")
    for axis, (size, want) in enumerate(zip(actual, declared, strict=True)):
        if want is not None and size != want:
            raise InputError("", f"dimension {axis} must have size {want}, got {size}")


def _check_integral(array: Any, np: Any) -> None:
    if not bool(np.all(np.isfinite(array))) or not bool(np.all(array == np.floor(array))):
        raise InputError("", "expected integers, got fractional numbers")


def _cast(array: Any, dtype: Any, np: Any) -> Any:
    if dtype.kind in "iu" and array.size:
        info = np.iinfo(dtype)
        low, high = array.min(), array.max()
        if low < info.min or high > info.max:
            raise InputError("", f"values out of range for {dtype.name}")
    return array.astype(dtype, copy=False)


def dataframe_decoder(
    spec: DataFrameSpec,
    compile_decoder: Callable[[TypeSpec], Decoder],
    message_decoder: Callable[[MessageSpec, Callable[[TypeSpec], Decoder]], Decoder],
) -> Decoder:
    """Columns (or pandas "records") → a DataFrame with the declared column dtypes."""
    pd: Any = importlib.import_module("pandas")
    columns = message_decoder(MessageSpec(spec.name, spec.fields, "synthetic"), compile_decoder)
    dtypes = {f.name: _column_dtype(f.spec) for f in spec.fields}

    def decode_dataframe(value: Any) -> Any:
        if isinstance(value, list):  # pandas "records" orientation: one object per row
            value = _records_to_columns(value, spec.field_names)
        decoded: dict[str, list[Any]] = columns(value)
        lengths = {name: len(column) for name, column in decoded.items()}
        if len(set(lengths.values())) > 1:
            raise InputError("", f"columns must have equal lengths, got {lengths}")
        if lengths and not any(lengths.values()):
            # Zero rows make most models raise (a 500 `model-error`); it is the request's fault.
            raise InputError("", "the table has no rows; send at least one row")
        data = {n: pd.Series(c, dtype=dtypes[n]) if dtypes[n] else c for n, c in decoded.items()}
        return pd.DataFrame(data)

    return decode_dataframe


def _column_dtype(column: TypeSpec) -> str | None:
    item = column.item if isinstance(column, ListSpec) else column
    return item.numpy_dtype if isinstance(item, ScalarSpec) else None


def _records_to_columns(rows: list[Any], names: tuple[str, ...]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InputError(f"[{index}]", f"expected an object, got {json_type_name(row)}")
        for key, cell in row.items():
            if key not in columns:
                raise InputError(f"[{index}].{key}", "unknown column")
            columns[key].append(cell)
    return columns
