"""Builders behind `modelbay_runtime.types.spec_of` for classes, arrays and DataFrames.

Kept apart from `types.py` so that module stays a readable map of the type system. Optional
libraries (numpy, pandas, pydantic) are imported only inside the functions that need them.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Callable
from typing import Any

from modelbay_runtime._typespec import (
    ArraySpec,
    DataFrameSpec,
    FieldSpec,
    ListSpec,
    MessageSpec,
    ScalarSpec,
    TypeSpec,
    UnsupportedTypeError,
    numpy_scalar_spec,
)

SpecOf = Callable[[object], TypeSpec]


def message_spec_of_class(cls: type, spec_of: SpecOf) -> MessageSpec | None:
    """The message spec of a NamedTuple, dataclass or pydantic model class, or None when `cls`
    is none of them. Field types go through `spec_of`; errors name the class and field."""
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        hints = _type_hints(cls)
        if set(cls._fields) - set(hints):
            return None  # an untyped collections.namedtuple
        return _message(cls, "namedtuple", [(n, hints[n]) for n in cls._fields], spec_of)
    if dataclasses.is_dataclass(cls):
        return _message(cls, "dataclass", _dataclass_fields(cls), spec_of)
    if _is_pydantic_model(cls):
        fields = [(n, f.annotation) for n, f in cls.model_fields.items()]  # type: ignore[attr-defined]
        return _message(cls, "pydantic", fields, spec_of)
    return None


def _type_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # NameError, TypeError: any unresolvable annotation
        raise UnsupportedTypeError(cls, f"its annotations cannot be resolved ({exc})") from None


def _dataclass_fields(cls: type) -> list[tuple[str, Any]]:
    hints = _type_hints(cls)
    fields = []
    for field in dataclasses.fields(cls):
        if not field.init:
            raise UnsupportedTypeError(cls, f"field {field.name!r} has init=False")
        fields.append((field.name, hints[field.name]))
    return fields


def _is_pydantic_model(cls: type) -> bool:
    pydantic = sys.modules.get("pydantic")  # loaded iff the contributor uses pydantic
    return pydantic is not None and issubclass(cls, pydantic.BaseModel)


def _message(cls: type, kind: Any, fields: list[tuple[str, Any]], spec_of: SpecOf) -> MessageSpec:
    specs = []
    for number, (name, annotation) in enumerate(fields, start=1):
        try:
            specs.append(FieldSpec(name, spec_of(annotation), number))
        except UnsupportedTypeError as exc:
            raise exc.inside(f"{cls.__name__}.{name}") from None
    return MessageSpec(cls.__name__, tuple(specs), kind, cls)


def array_spec(dtype: object, shape: object) -> ArraySpec:
    """`ArraySpec` for `NDArray[dtype, shape]`; -1 in a shape means a free dimension."""
    import numpy as np

    try:
        dtype_name = np.dtype(dtype).name  # type: ignore[call-overload]
        numpy_scalar_spec(dtype_name)
    except (TypeError, ValueError) as exc:
        raise UnsupportedTypeError(
            dtype, f"NDArray needs a numeric or bool dtype ({exc})"
        ) from None
    if not isinstance(shape, tuple) or not shape:
        raise TypeError(f"NDArray shape must be a non-empty tuple such as (None, 3), got {shape!r}")
    dims: list[int | None] = []
    for dim in shape:
        if dim is None or dim == -1:
            dims.append(None)
        elif isinstance(dim, int) and dim >= 0:
            dims.append(dim)
        else:
            raise TypeError(f"NDArray shape entries must be ints >= 0, None or -1, got {dim!r}")
    return ArraySpec(dtype_name, tuple(dims))


def dataframe_spec(name: str, columns: Any, spec_class: type[DataFrameSpec]) -> DataFrameSpec:
    """The spec of a DataFrame whose columns come from a real DataFrame or (name, type) pairs."""
    if not name.isidentifier():
        raise ValueError(f"create_dataframe: {name!r} is not a valid type name")
    pairs = _dataframe_columns(columns)
    if not pairs:
        raise ValueError(f"create_dataframe({name!r}): declare at least one column")
    fields = []
    for number, (column, column_type) in enumerate(pairs, start=1):
        if not (isinstance(column, str) and column.isidentifier() and column.isascii()):
            raise ValueError(f"create_dataframe({name!r}): column {column!r} must be an identifier")
        element = _column_scalar(name, column, column_type)
        fields.append(FieldSpec(column, ListSpec(element), number))
    return spec_class(name, tuple(fields), "dataframe", None)


def _dataframe_columns(columns: Any) -> list[tuple[Any, Any]]:
    if hasattr(columns, "dtypes") and hasattr(columns, "columns"):  # a real DataFrame
        return [(c, _dtype_of_column(columns[c])) for c in columns.columns]
    if isinstance(columns, dict):
        return list(columns.items())
    return [tuple(pair) for pair in columns]


def _dtype_of_column(series: Any) -> Any:
    dtype = series.dtype
    if getattr(dtype, "kind", "O") in "biuf":
        return dtype
    values = series.dropna().tolist()
    if all(isinstance(v, str) for v in values):
        return str
    return dtype  # refused below with the column named


_PYTHON_COLUMN_TYPES: dict[Any, ScalarSpec] = {
    int: ScalarSpec("int64", "int64"),
    float: ScalarSpec("double", "float64"),
    bool: ScalarSpec("bool", "bool"),
    str: ScalarSpec("string"),
    bytes: ScalarSpec("bytes"),
}


def _column_scalar(name: str, column: str, column_type: Any) -> ScalarSpec:
    known = _PYTHON_COLUMN_TYPES.get(column_type)
    if known is not None:
        return known
    import numpy as np

    try:
        return numpy_scalar_spec(np.dtype(column_type).name)
    except (TypeError, ValueError):
        raise UnsupportedTypeError(
            column_type, "columns must be numeric, bool, str or bytes", f"{name}.{column}"
        ) from None
