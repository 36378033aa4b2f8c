"""The type system: annotations → TypeSpec, refusals with hints, pickling by value."""

from __future__ import annotations

import dataclasses
import enum
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pydantic
import pytest
from modelbay_runtime.types import (
    ArraySpec,
    DataFrameSpec,
    Dict,
    EnumSpec,
    EnumValue,
    List,
    ListSpec,
    MapSpec,
    MessageSpec,
    NDArray,
    ScalarSpec,
    UnsupportedTypeError,
    create_dataframe,
    create_namedtuple,
    enum_proto_values,
    is_batchable,
    spec_of,
)

RUNTIME_SRC = Path(__file__).resolve().parents[3] / "libs" / "runtime" / "src"


class Species(enum.Enum):
    SETOSA = 1
    VERSICOLOR = 2


class Point(typing.NamedTuple):
    x: float
    y: float


@dataclasses.dataclass
class Box:
    corner: Point
    tags: List[str]


class Reading(pydantic.BaseModel):
    sensor: str
    values: List[float]


@pytest.mark.parametrize(
    ("annotation", "proto", "numpy_dtype"),
    [
        (int, "int64", None),
        (float, "double", None),
        (bool, "bool", None),
        (str, "string", None),
        (bytes, "bytes", None),
        (np.int32, "int32", "int32"),
        (np.int64, "int64", "int64"),
        (np.float32, "float", "float32"),
        (np.float64, "double", "float64"),
        (np.bool_, "bool", "bool"),
    ],
)
def test_scalars_map_to_proto3_scalars(
    annotation: object, proto: str, numpy_dtype: str | None
) -> None:
    assert spec_of(annotation) == ScalarSpec(proto, numpy_dtype)  # type: ignore[arg-type]


def test_containers_nest_naturally() -> None:
    assert spec_of(List[int]) == ListSpec(ScalarSpec("int64"))
    assert spec_of(list[float]) == ListSpec(ScalarSpec("double"))
    assert spec_of(Dict[str, List[float]]) == MapSpec(ListSpec(ScalarSpec("double")))
    assert spec_of(List[List[int]]) == ListSpec(ListSpec(ScalarSpec("int64")))


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (set[int], "type set[int] is not supported; use List[int]"),
        (Dict[int, str], "map keys must be str"),
        (int | str, "declare one type, or Optional[T]"),
        (typing.Optional[List[int]], "proto3 has no optional lists"),  # noqa: UP045
        (Dict[str, float] | None, "proto3 has no optional lists, maps"),
        (List[int | None], "list elements and map values cannot be None"),
        (Dict[str, typing.Optional[str]], "cannot be None"),  # noqa: UP045
        (list, "declare the element type"),
        (np.ndarray, "NDArray[np.float32]"),
        (pd.DataFrame, "create_dataframe"),
        (tuple[int, int], "use a NamedTuple"),
        (complex, "is not supported"),
    ],
)
def test_unsupported_types_are_refused_with_a_hint(annotation: object, expected: str) -> None:
    with pytest.raises(
        UnsupportedTypeError, match=expected.replace("[", r"\[").replace("]", r"\]")
    ):
        spec_of(annotation)


def test_create_namedtuple_accepts_the_papers_fig2_form_unchanged() -> None:
    fig2_input = create_namedtuple(
        "Input",
        [
            (
                ("sepal_length", List[float]),
                ("sepal_width", List[float]),
                ("petal_length", List[float]),
                ("petal_width", List[float]),
            )
        ],
    )
    fig2_output = create_namedtuple("Output", [(("IrisType", List[int]))])
    assert fig2_input._fields == ("sepal_length", "sepal_width", "petal_length", "petal_width")
    assert fig2_output._fields == ("IrisType",)
    spec = spec_of(fig2_input)
    assert isinstance(spec, MessageSpec)
    assert [(f.name, f.number) for f in spec.fields] == [
        ("sepal_length", 1),
        ("sepal_width", 2),
        ("petal_length", 3),
        ("petal_width", 4),
    ]
    assert spec.python_class is fig2_input


def test_create_namedtuple_refuses_bad_fields_at_once() -> None:
    with pytest.raises(UnsupportedTypeError, match=r"set\[str\] \(in Bad.tags\)"):
        create_namedtuple("Bad", [("tags", set[str])])
    with pytest.raises(TypeError, match="expected \\(field_name, type\\)"):
        create_namedtuple("Bad", [("tags",)])


def test_messages_from_namedtuple_dataclass_and_pydantic_nest() -> None:
    box = spec_of(Box)
    assert isinstance(box, MessageSpec)
    assert box.kind == "dataclass"
    assert box.field("corner").spec == spec_of(Point)
    assert box.field("tags").spec == ListSpec(ScalarSpec("string"))
    reading = spec_of(Reading)
    assert isinstance(reading, MessageSpec)
    assert reading.kind == "pydantic"
    assert reading.field_names == ("sensor", "values")


def test_recursive_types_are_refused() -> None:
    class Node(typing.NamedTuple):
        children: List[Node]

    with pytest.raises(UnsupportedTypeError, match="recursive"):
        spec_of(Node)


def test_enum_values_keep_int_values_and_get_a_zero() -> None:
    spec = spec_of(Species)
    assert spec == EnumSpec(
        "Species", Species, (EnumValue("SETOSA", 1), EnumValue("VERSICOLOR", 2)), "UNSPECIFIED"
    )
    assert enum_proto_values(spec) == (  # type: ignore[arg-type]
        ("SPECIES_UNSPECIFIED", 0),
        ("SPECIES_SETOSA", 1),
        ("SPECIES_VERSICOLOR", 2),
    )


def test_enum_with_string_values_is_numbered_in_declaration_order() -> None:
    class Colour(enum.Enum):
        RED = "red"
        UNSPECIFIED = "none"

    spec = spec_of(Colour)
    assert isinstance(spec, EnumSpec)
    assert [(v.name, v.number) for v in spec.values] == [("RED", 1), ("UNSPECIFIED", 2)]
    assert spec.zero_name == "UNKNOWN"


def test_enum_with_a_zero_member_needs_no_generated_value() -> None:
    class Level(enum.IntEnum):
        LOW = 0
        HIGH = 5

    spec = spec_of(Level)
    assert isinstance(spec, EnumSpec)
    assert spec.zero_name is None
    assert [(v.name, v.number) for v in spec.values] == [("LOW", 0), ("HIGH", 5)]


def test_ndarray_declares_dtype_and_shape() -> None:
    assert spec_of(NDArray[np.float32]) == ArraySpec("float32", (None,))
    assert spec_of(NDArray[np.int64, (None, 3)]) == ArraySpec("int64", (None, 3))
    assert spec_of(NDArray[np.uint8, (-1, 28, 28)]) == ArraySpec("uint8", (None, 28, 28))
    with pytest.raises(UnsupportedTypeError, match="NDArray needs a numeric or bool dtype"):
        NDArray[np.datetime64]
    with pytest.raises(TypeError, match="shape entries"):
        NDArray[np.float32, (2.5,)]


def test_create_dataframe_reads_columns_from_a_real_dataframe() -> None:
    frame = pd.DataFrame({"age": [30, 41], "income": [1.5, 2.5], "city": ["a", "b"]})
    spec = spec_of(create_dataframe("People", frame))
    assert isinstance(spec, DataFrameSpec)
    assert [(f.name, f.spec) for f in spec.fields] == [
        ("age", ListSpec(ScalarSpec("int64", "int64"))),
        ("income", ListSpec(ScalarSpec("double", "float64"))),
        ("city", ListSpec(ScalarSpec("string"))),
    ]
    assert is_batchable(spec)


def test_create_dataframe_from_column_types_and_refusals() -> None:
    spec = spec_of(create_dataframe("Small", [("a", np.float32), ("b", bool)]))
    assert isinstance(spec, DataFrameSpec)
    assert spec.field("a").spec == ListSpec(ScalarSpec("float", "float32"))
    with pytest.raises(UnsupportedTypeError, match="columns must be numeric"):
        create_dataframe("When", pd.DataFrame({"t": pd.to_datetime(["2024-01-01"])}))


def test_batchable_means_every_field_is_a_column() -> None:
    columns = create_namedtuple(
        "Columns", [("a", List[float]), ("b", NDArray[np.float32, (None, 2)])]
    )
    assert is_batchable(spec_of(columns))  # type: ignore[arg-type]
    mixed = create_namedtuple("Mixed", [("a", List[float]), ("threshold", float)])
    assert not is_batchable(spec_of(mixed))  # type: ignore[arg-type]
    fixed = create_namedtuple("Fixed", [("a", NDArray[np.float32, (2, 2)])])
    assert not is_batchable(spec_of(fixed))  # type: ignore[arg-type]


def test_specs_are_hashable_and_picklable() -> None:
    spec = spec_of(Box)
    assert hash(spec) == hash(spec_of(Box))
    assert cloudpickle.loads(cloudpickle.dumps(spec)) == spec


def test_create_namedtuple_classes_pickle_by_value_without_the_sdk(tmp_path: Path) -> None:
    """Pickle here; unpickle in an isolated interpreter that has only the runtime core and
    cloudpickle on its path (no site-packages, so neither `modelbay` nor the contributor's
    script can be imported)."""
    inner = create_namedtuple("Measure", [("value", float), ("unit", str)])
    outer = create_namedtuple("Batch", [(("items", List[inner]), ("count", int))])
    instance = outer(items=[inner(1.5, "cm")], count=1)
    (tmp_path / "payload.pkl").write_bytes(cloudpickle.dumps(instance))
    shutil.copytree(Path(cloudpickle.__file__).parent, tmp_path / "lib" / "cloudpickle")
    script = f"""
import sys
sys.path[:0] = [{str(tmp_path / "lib")!r}, {str(RUNTIME_SRC)!r}]
try:
    import modelbay
    raise SystemExit("modelbay must not be importable here")
except ImportError:
    pass
import cloudpickle
from modelbay_runtime.types import spec_of
value = cloudpickle.loads(open({str(tmp_path / "payload.pkl")!r}, "rb").read())
print(type(value).__name__, value.items[0].unit, value.items[0].value, value.count)
print(spec_of(type(value)).field("items").spec.item.name)
"""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Batch", "cm", "1.5", "1", "Measure"]


def test_optional_libraries_are_imported_only_when_used() -> None:
    script = """
import sys
import modelbay
from modelbay import Model, List, create_namedtuple
from modelbay_runtime.codec import to_json, to_python
Pair = create_namedtuple("Pair", [("a", List[float])])
def f(p: Pair) -> float:
    return sum(p.a)
model = Model(f=f, samples={"f": [{"a": [1.0, 2.0]}]})
assert model.run_sample("f", model.samples["f"][0]) == {"value": 3.0}
print(sorted(m for m in ("numpy", "pandas", "pydantic") if m in sys.modules))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
