"""The `TypeSpec` dataclasses (re-exported by `modelbay_runtime.types`, the public module).

Pure data with no third-party imports, so the builders and the codec can depend on it without
an import cycle.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from enum import Enum
from typing import Literal

ProtoScalar = Literal[
    "double", "float", "int64", "int32", "uint64", "uint32", "bool", "string", "bytes"
]
MessageKind = Literal["namedtuple", "dataclass", "pydantic", "dataframe", "synthetic"]


class UnsupportedTypeError(TypeError):
    """An annotation Modelbay cannot map to proto3/JSON.

    `annotation` is the offending (possibly nested) type, `hint` says what to use instead and
    `where` names the enclosing field (`Input.tags`) when the culprit is nested.
    """

    def __init__(self, annotation: object, hint: str = "", where: str = "") -> None:
        self.annotation = annotation
        self.hint = hint
        self.where = where
        super().__init__(self._render())

    def _render(self) -> str:
        located = f" (in {self.where})" if self.where else ""
        advice = f"; {self.hint}" if self.hint else ""
        return f"type {type_repr(self.annotation)}{located} is not supported{advice}"

    def inside(self, where: str) -> UnsupportedTypeError:
        """Return a copy that also names the enclosing field, innermost location kept."""
        return UnsupportedTypeError(self.annotation, self.hint, self.where or where)


@dataclass(frozen=True)
class TypeSpec:
    """Base of every spec. Specs are immutable, hashable, comparable and picklable."""


@dataclass(frozen=True)
class ScalarSpec(TypeSpec):
    """A proto3 scalar. `numpy_dtype` is set when the annotation was a numpy scalar type
    (`np.float32`): decoded values are then numpy scalars of that dtype."""

    proto: ProtoScalar
    numpy_dtype: str | None = None


@dataclass(frozen=True)
class EnumValue:
    """One member of an enum: its Python member name and its proto number."""

    name: str
    number: int


@dataclass(frozen=True)
class EnumSpec(TypeSpec):
    """A Python `Enum` as a proto3 enum.

    Numbers: if every member's value is an int in int32 range the value *is* the number,
    otherwise members are numbered 1..n in declaration order. proto3 needs a 0 value; when no
    member has number 0, `zero_name` (`UNSPECIFIED`, or `UNKNOWN` if taken) is generated and
    decodes to `None`.
    """

    name: str
    python_class: type[Enum]
    values: tuple[EnumValue, ...]
    zero_name: str | None = None


@dataclass(frozen=True)
class ListSpec(TypeSpec):
    """`List[T]`: a proto3 `repeated` field (or a wrapper message where proto3 cannot nest)."""

    item: TypeSpec


@dataclass(frozen=True)
class MapSpec(TypeSpec):
    """`Dict[str, T]`: a proto3 `map<string, T>`. Keys are always strings."""

    value: TypeSpec


@dataclass(frozen=True)
class OptionalSpec(TypeSpec):
    """`Optional[T]` / `T | None` on a field: a proto3 `optional` field, whose presence travels
    over protobuf and JSON. `None` is the absent field (JSON `null` or a missing key), and a
    present zero (`0`, `""`, `False`) stays distinct from it. Only a field's own type can be
    optional, and only when `item` is a scalar, an enum or a message: proto3 has no optional
    repeated fields or maps, nor absent list elements (`types.spec_of` refuses the rest).
    """

    item: TypeSpec


@dataclass(frozen=True)
class ArraySpec(TypeSpec):
    """A numpy array of `dtype` (a numpy dtype name such as `"float32"`).

    `shape` has one entry per dimension, `None` where the size is free. 1-d arrays are a
    `repeated` scalar field; n-d arrays a tensor message `{repeated int64 shape; repeated T
    values}` (row-major). In JSON both are (nested) lists.
    """

    dtype: str
    shape: tuple[int | None, ...] = (None,)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def element(self) -> ScalarSpec:
        """The scalar spec of one element."""
        return numpy_scalar_spec(self.dtype)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a message: Python/proto field name, type and proto field number."""

    name: str
    spec: TypeSpec
    number: int


@dataclass(frozen=True)
class MessageSpec(TypeSpec):
    """A proto3 message. `python_class` is the NamedTuple/dataclass/pydantic class values are
    built from; it is `None` for `synthetic` messages (the generated `<Method>In`/`Out`
    wrappers), whose Python form is a plain dict."""

    name: str
    fields: tuple[FieldSpec, ...]
    kind: MessageKind
    python_class: type | None = None

    def field(self, name: str) -> FieldSpec:
        """The field called `name` (KeyError if there is none)."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class DataFrameSpec(MessageSpec):
    """A pandas DataFrame with declared columns: a message of repeated columns. Each field is a
    `ListSpec(ScalarSpec(...))` whose `numpy_dtype` is the column dtype (None for strings)."""


def type_repr(annotation: object) -> str:
    """A short human name for an annotation: `set[int]`, `List[float]`, `Input`."""
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__qualname__
    if isinstance(annotation, str):
        return repr(annotation)
    return repr(annotation).replace("typing.", "")


# Value range of each proto3 integer type.
INT_RANGES: dict[str, tuple[int, int]] = {
    "int64": (-(2**63), 2**63 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint64": (0, 2**64 - 1),
    "uint32": (0, 2**32 - 1),
}

# numpy dtype name → proto3 scalar. Narrow ints widen to the smallest proto int that holds them.
NUMPY_TO_PROTO: dict[str, ProtoScalar] = {
    "bool": "bool",
    "int8": "int32",
    "int16": "int32",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint32",
    "uint16": "uint32",
    "uint32": "uint32",
    "uint64": "uint64",
    "float16": "float",
    "float32": "float",
    "float64": "double",
}


def numpy_scalar_spec(dtype_name: str) -> ScalarSpec:
    """The scalar spec of one element of a numpy dtype (`"float32"` → proto `float`)."""
    proto = NUMPY_TO_PROTO.get(dtype_name)
    if proto is None:
        supported = ", ".join(NUMPY_TO_PROTO)
        raise ValueError(f"numpy dtype {dtype_name} is not supported (supported: {supported})")
    return ScalarSpec(proto, dtype_name)
