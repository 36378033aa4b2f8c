"""The Modelbay type system: what a model method may take and return, as a `TypeSpec` tree.

`spec_of(annotation)` turns a Python annotation into a frozen, picklable `TypeSpec`. The tree is
*natural*: `Dict[str, List[float]]` is `MapSpec(ListSpec(ScalarSpec("double")))`. How a spec is
laid out in proto3 (wrapper messages for lists inside maps, tensors for n-d arrays) is decided
by the layout helpers at the bottom of this module, which both the interface generator (SDK)
and the protobuf codec (runtime) use, so the two can never disagree.

This module lives in the runtime core (no SDK needed in a model image) and imports numpy,
pandas and pydantic only when an annotation actually uses them.
"""

from __future__ import annotations

import importlib
import re
import typing
from enum import Enum
from typing import Annotated, Any, NamedTuple

from modelbay_runtime._types_build import (
    array_spec,
    dataframe_spec,
    message_spec_of_class,
)
from modelbay_runtime._typespec import (
    INT_RANGES,
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
    UnsupportedTypeError,
    numpy_scalar_spec,
    type_repr,
)

# `List` and `Dict` are the typing aliases, re-exported so `from modelbay import List, Dict` works.
List = typing.List  # noqa: UP006 - the public alias of the paper's API
Dict = typing.Dict  # noqa: UP006

__all__ = [
    "INT_RANGES",
    "LIST_WRAPPER_FIELD",
    "MAP_WRAPPER_FIELD",
    "TENSOR_SHAPE_FIELD",
    "TENSOR_VALUES_FIELD",
    "WRAPPED_VALUE_FIELD",
    "ArraySpec",
    "DataFrameSpec",
    "Dict",
    "EnumSpec",
    "EnumValue",
    "FieldSpec",
    "List",
    "ListSpec",
    "MapSpec",
    "MessageKind",
    "MessageSpec",
    "NDArray",
    "OptionalSpec",
    "ProtoScalar",
    "ScalarSpec",
    "TypeSpec",
    "UnsupportedTypeError",
    "create_dataframe",
    "create_namedtuple",
    "enum_prefix",
    "enum_proto_values",
    "enum_spec",
    "is_batchable",
    "is_message_type",
    "is_tensor",
    "needs_wrapper",
    "spec_of",
    "type_repr",
]

# Classes made by `create_namedtuple` claim a module that never exists, so cloudpickle pickles
# them *by value* (its rule: a class it cannot find again by module + qualname is serialised
# whole). A model image can then unpickle them without the SDK or the contributor's script.
DYNAMIC_MODULE = "modelbay_runtime.dynamic_types"


def spec_of(annotation: object) -> TypeSpec:
    """Map a Python annotation to its `TypeSpec`.

    Supported: `int` (int64), `float` (double), `bool`, `str`, `bytes`, numpy scalar types,
    `List[T]`, `Dict[str, T]`, NamedTuple classes (including `create_namedtuple`), dataclasses,
    pydantic v2 models, `Enum` subclasses, `NDArray[...]`, `create_dataframe(...)`,
    `Annotated[X, <TypeSpec>]`, and `Optional[T]` / `T | None` of a scalar, enum or message
    (an `OptionalSpec`: proto3 `optional`; callers use it only as a field's own type). Raises
    `UnsupportedTypeError` for anything else, with a hint.
    """
    return _spec_of(annotation, ())


def _spec_of(annotation: object, in_progress: tuple[type, ...]) -> TypeSpec:
    scalar = _PYTHON_SCALARS.get(annotation) if isinstance(annotation, type) else None
    if scalar is not None:
        return ScalarSpec(scalar)
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _annotated_spec(annotation, in_progress)
    if origin is not None:
        return _generic_spec(annotation, origin, in_progress)
    if isinstance(annotation, type):
        return _class_spec(annotation, in_progress)
    if isinstance(annotation, str | typing.ForwardRef):
        raise UnsupportedTypeError(annotation, "the forward reference could not be resolved")
    raise UnsupportedTypeError(annotation)


_PYTHON_SCALARS: dict[object, ProtoScalar] = {
    int: "int64",
    float: "double",
    bool: "bool",
    str: "string",
    bytes: "bytes",
}

_GENERIC_HINTS: dict[object, str] = {
    set: "use List[T]",
    frozenset: "use List[T]",
    tuple: "use a NamedTuple or List[T]",
    typing.Union: "declare one type, or Optional[T] (T | None) for a field that may be absent",
}
_NOT_OPTIONAL_HINT = (
    "proto3 has no optional lists, maps or arrays: an empty one stands for none, so drop the "
    "Optional"
)


def _annotated_spec(annotation: object, in_progress: tuple[type, ...]) -> TypeSpec:
    for extra in getattr(annotation, "__metadata__", ()):
        if isinstance(extra, TypeSpec):
            return extra
    return _spec_of(typing.get_args(annotation)[0], in_progress)


def _generic_spec(annotation: object, origin: object, in_progress: tuple[type, ...]) -> TypeSpec:
    args = typing.get_args(annotation)
    if origin is list and len(args) == 1:
        return ListSpec(_element_spec(args[0], in_progress))
    if origin is dict and len(args) == 2:
        if args[0] is not str:
            raise UnsupportedTypeError(annotation, "map keys must be str (Dict[str, T])")
        return MapSpec(_element_spec(args[1], in_progress))
    hint = _GENERIC_HINTS.get(origin, "")
    if origin is set or origin is frozenset:
        hint = f"use List[{type_repr(args[0])}]" if args else hint
    if origin is typing.Union or "UnionType" in type(annotation).__name__:
        return _optional_spec(annotation, args, in_progress)
    raise UnsupportedTypeError(annotation, hint)


def _optional_spec(
    annotation: object, args: tuple[object, ...], in_progress: tuple[type, ...]
) -> OptionalSpec:
    """`Optional[T]` / `T | None` (typing flattens and deduplicates the union's members)."""
    present = [a for a in args if a is not type(None)]
    if len(present) != 1 or len(present) == len(args):
        raise UnsupportedTypeError(annotation, _GENERIC_HINTS[typing.Union])
    item = _spec_of(present[0], in_progress)
    if not isinstance(item, ScalarSpec | EnumSpec | MessageSpec) or isinstance(item, DataFrameSpec):
        raise UnsupportedTypeError(annotation, _NOT_OPTIONAL_HINT)
    return OptionalSpec(item)


def _element_spec(annotation: object, in_progress: tuple[type, ...]) -> TypeSpec:
    """A list element or map value: never optional (proto3 repeated elements are all present)."""
    spec = _spec_of(annotation, in_progress)
    if isinstance(spec, OptionalSpec):
        raise UnsupportedTypeError(
            annotation, "list elements and map values cannot be None in proto3; drop the Optional"
        )
    return spec


def _class_spec(cls: type, in_progress: tuple[type, ...]) -> TypeSpec:
    if cls in in_progress:
        raise UnsupportedTypeError(cls, "recursive types are not supported")
    if issubclass(cls, Enum):
        return enum_spec(cls)
    if cls.__module__ == "numpy":
        return _numpy_class_spec(cls)
    if cls in (list, dict, set, frozenset, tuple):
        raise UnsupportedTypeError(cls, f"declare the element type, e.g. List[float]; {cls} alone")
    if _is_pandas_dataframe(cls):
        raise UnsupportedTypeError(cls, "declare the columns with create_dataframe(name, df)")
    message = message_spec_of_class(cls, lambda a: _spec_of(a, (*in_progress, cls)))
    if message is None:
        raise UnsupportedTypeError(cls, _class_hint(cls))
    return message


def _numpy_class_spec(cls: type) -> TypeSpec:
    if cls.__name__ == "ndarray":
        raise UnsupportedTypeError(cls, "declare the dtype with NDArray[np.float32] (or a shape)")
    try:
        return numpy_scalar_spec_from_type(cls)
    except (TypeError, ValueError) as exc:
        raise UnsupportedTypeError(cls, str(exc)) from None


def numpy_scalar_spec_from_type(cls: type) -> ScalarSpec:
    """`np.float32` → `ScalarSpec("float", numpy_dtype="float32")` (declared numpy scalar)."""
    import numpy as np

    dtype_name = np.dtype(cls).name
    spec = numpy_scalar_spec(dtype_name)
    return ScalarSpec(spec.proto, dtype_name)


def _is_pandas_dataframe(cls: type) -> bool:
    return cls.__name__ == "DataFrame" and cls.__module__.startswith("pandas")


def _class_hint(cls: type) -> str:
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return "give every namedtuple field a type (typing.NamedTuple or create_namedtuple)"
    return "use a scalar, List, Dict, NamedTuple, dataclass, pydantic model, Enum or NDArray"


def enum_spec(cls: type[Enum]) -> EnumSpec:
    """The `EnumSpec` of an `Enum` subclass (numbering rules on `EnumSpec`)."""
    members = list(cls)
    if not members:
        raise UnsupportedTypeError(cls, "an enum needs at least one member")
    int32 = range(-(2**31), 2**31)
    if all(type(m.value) is int and m.value in int32 for m in members):
        values = tuple(EnumValue(m.name, m.value) for m in members)
    else:
        values = tuple(EnumValue(m.name, i) for i, m in enumerate(members, start=1))
    zero_name = None
    if all(v.number != 0 for v in values):
        taken = {m.name for m in members}
        zero_name = next((n for n in ("UNSPECIFIED", "UNKNOWN") if n not in taken), None)
        if zero_name is None:
            raise UnsupportedTypeError(cls, "no member maps to 0 and UNSPECIFIED/UNKNOWN are taken")
    return EnumSpec(cls.__name__, cls, values, zero_name)


class NDArray:
    """Annotation for numpy arrays: `NDArray[np.float32]` (1-d, any length) or
    `NDArray[np.float32, (None, 4)]` (n-d; `None` or -1 marks a free dimension).

    Subscripting returns `Annotated[numpy.ndarray, ArraySpec(...)]`, so type checkers see an
    ndarray and `spec_of` sees the spec.
    """

    def __class_getitem__(cls, params: object) -> Any:
        import numpy as np

        dtype, shape = params if isinstance(params, tuple) else (params, (None,))
        spec = array_spec(dtype, shape)
        return Annotated[np.ndarray, spec]


def create_namedtuple(name: str, fields: Any) -> type[tuple[Any, ...]]:
    """Create a typed NamedTuple class, as the Acumos API did.

    `fields` is a list of `(field_name, type)` pairs, or (the paper's Fig. 2 form) a list
    holding one tuple of such pairs. Every type is checked at once (UnsupportedTypeError).
    The class pickles *by value* with cloudpickle, so a model image needs no SDK to load it.
    """
    pairs = _namedtuple_pairs(name, fields)
    cls: type[tuple[Any, ...]] = NamedTuple(name, pairs)  # type: ignore[misc]
    cls.__module__ = DYNAMIC_MODULE
    spec_of(cls)  # refuse unsupported field types now, not at Model() time
    return cls


def _namedtuple_pairs(name: str, fields: Any) -> list[tuple[str, Any]]:
    items = list(fields.items()) if isinstance(fields, dict) else list(fields)
    # The Fig. 2 form: a list holding one tuple of pairs, [(("a", T), ("b", T), ...)].
    nested = len(items) == 1 and isinstance(items[0], tuple) and bool(items[0])
    if nested and all(isinstance(pair, tuple) for pair in items[0]):
        items = list(items[0])
    pairs: list[tuple[str, Any]] = []
    for pair in items:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise TypeError(
                f"create_namedtuple({name!r}): expected (field_name, type), got {pair!r}"
            )
        pairs.append((pair[0], pair[1]))
    return pairs


def create_dataframe(name: str, columns: Any) -> Any:
    """Declare a pandas DataFrame type named `name` from a real DataFrame (its column names and
    dtypes) or from `[(column, type), ...]` / `{column: type}` where a type is a Python scalar
    type, a numpy scalar type or a dtype name. Returns `Annotated[pandas.DataFrame,
    DataFrameSpec]`: use it as an annotation; the method then receives a real DataFrame."""
    pandas: Any = importlib.import_module("pandas")  # lazily: only DataFrame users need it
    spec = dataframe_spec(name, columns, DataFrameSpec)
    return Annotated[pandas.DataFrame, spec]


def is_message_type(spec: TypeSpec) -> bool:
    """True when `spec` is a message (NamedTuple, dataclass, pydantic model, DataFrame)."""
    return isinstance(spec, MessageSpec)


def is_batchable(message: MessageSpec) -> bool:
    """True when every field is a column the server can concatenate across requests: a list of
    scalars/enums/messages or an array whose first dimension is free."""
    if not message.fields:
        return False
    return all(_is_column(f.spec) for f in message.fields)


def _is_column(spec: TypeSpec) -> bool:
    if isinstance(spec, ListSpec):
        return isinstance(spec.item, ScalarSpec | EnumSpec | MessageSpec)
    return isinstance(spec, ArraySpec) and spec.shape[0] is None


# --- proto3 layout ----------------------------------------------------------------------------
# proto3 cannot put `repeated` inside `repeated` or `map`, nor a map inside either. Such values
# travel in generated wrapper messages; n-d arrays travel as tensor messages. JSON never sees
# the wrappers: `Dict[str, List[float]]` is `{"a": [1.0]}` on the wire as JSON.

LIST_WRAPPER_FIELD = "values"  # message DoubleList { repeated double values = 1; }
MAP_WRAPPER_FIELD = "entries"  # message DoubleMap { map<string, double> entries = 1; }
TENSOR_SHAPE_FIELD = "shape"  # message FloatTensor { repeated int64 shape = 1;
TENSOR_VALUES_FIELD = "values"  #                     repeated float values = 2; }
WRAPPED_VALUE_FIELD = "value"  # message ClassifyOut { T value = 1; } for non-message returns


def is_tensor(spec: TypeSpec) -> bool:
    """True for arrays of two or more dimensions, carried as a tensor message."""
    return isinstance(spec, ArraySpec) and spec.ndim >= 2


def needs_wrapper(spec: TypeSpec) -> bool:
    """True when `spec`, as a list element or map value, must be carried in a generated list
    wrapper (lists, 1-d arrays) or map wrapper (maps) message."""
    return isinstance(spec, ListSpec | MapSpec) or (isinstance(spec, ArraySpec) and spec.ndim < 2)


def enum_prefix(spec: EnumSpec) -> str:
    """The proto value-name prefix of an enum: `IrisType` → `IRIS_TYPE_`. proto3 enum values
    share one namespace per package, so every value name carries its enum's prefix."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", spec.name)
    return re.sub(r"\W", "_", snake).upper() + "_"


def enum_proto_values(spec: EnumSpec) -> tuple[tuple[str, int], ...]:
    """`(proto value name, number)` pairs, the generated zero value first when there is one.
    A member already named with the prefix (`COLOR_RED` in `Color`) keeps its name."""
    prefix = enum_prefix(spec)
    pairs = [
        (m.name if m.name.startswith(prefix) else prefix + m.name, m.number) for m in spec.values
    ]
    if spec.zero_name is not None:
        pairs.insert(0, (prefix + spec.zero_name, 0))
    return tuple(pairs)
