"""The value codec: natural JSON ↔ Python objects, with errors that name the field."""

from __future__ import annotations

import dataclasses
import enum
import math
import typing

import numpy as np
import pandas as pd
import pydantic
import pytest
from modelbay_runtime.codec import (
    InputError,
    OutputError,
    make_json_caller,
    to_json,
    to_python,
)
from modelbay_runtime.types import (
    Dict,
    FieldSpec,
    List,
    MessageSpec,
    NDArray,
    ScalarSpec,
    TypeSpec,
    create_dataframe,
    create_namedtuple,
    spec_of,
)


class Species(enum.Enum):
    SETOSA = 1
    VERSICOLOR = 2


class Item(typing.NamedTuple):
    name: str
    weight: float


@dataclasses.dataclass
class Order:
    items: List[Item]
    species: Species
    notes: Dict[str, List[float]]
    payload: bytes


class Reading(pydantic.BaseModel):
    sensor: str
    value: float = pydantic.Field(ge=0)


def spec(annotation: object) -> TypeSpec:
    return spec_of(annotation)


def input_error(annotation: object, value: object) -> InputError:
    with pytest.raises(InputError) as caught:
        to_python(spec(annotation), value)
    return caught.value


# --- scalars ---------------------------------------------------------------------------------


def test_ints_accept_numbers_decimal_strings_and_integral_floats() -> None:
    assert to_python(spec(int), 7) == 7
    assert to_python(spec(int), "-9007199254740993") == -9007199254740993
    assert to_python(spec(int), 3.0) == 3
    assert input_error(int, 2**63).message == f"{2**63} is out of range for int64"
    assert "expected an integer (int64), got a boolean" in str(input_error(int, True))
    assert "got a string" in str(input_error(int, "seven"))
    assert "out of range for int32" in str(input_error(np.int32, 2**31))


def test_floats_accept_ints_and_proto3_special_strings() -> None:
    assert to_python(spec(float), 2) == 2.0
    assert isinstance(to_python(spec(float), 2), float)
    assert math.isnan(to_python(spec(float), "NaN"))
    assert to_python(spec(float), "-Infinity") == -math.inf
    assert to_json(spec(float), math.inf) == "Infinity"
    assert to_json(spec(List[float]), [1.0, math.nan]) == [1.0, "NaN"]
    value = to_python(spec(np.float32), 0.5)
    assert type(value) is np.float32
    assert "expected a number (double), got a boolean" in str(input_error(float, False))


def test_bools_and_strings_are_strict() -> None:
    assert to_python(spec(bool), True) is True
    assert "expected a boolean, got an integer" in str(input_error(bool, 1))
    assert "expected a string, got an integer" in str(input_error(str, 5))


def test_bytes_accept_base64_variants_and_raw_bytes() -> None:
    assert to_python(spec(bytes), "aGk/Pz4+") == b"hi??>>"
    assert to_python(spec(bytes), "aGk_Pz4-") == b"hi??>>"  # URL-safe alphabet
    assert to_python(spec(bytes), "aGk") == b"hi"  # padding omitted
    assert to_python(spec(bytes), b"\x00\x01") == b"\x00\x01"
    assert to_json(spec(bytes), bytearray(b"ab")) == b"ab"
    assert "expected base64 text" in str(input_error(bytes, "not base64!"))


# --- enums, messages, paths ------------------------------------------------------------------


def test_enums_by_member_name_proto_name_or_number() -> None:
    species = spec(Species)
    assert to_python(species, "SETOSA") is Species.SETOSA
    assert to_python(species, "SPECIES_VERSICOLOR") is Species.VERSICOLOR
    assert to_python(species, 2) is Species.VERSICOLOR
    assert to_python(species, 0) is None  # the generated SPECIES_UNSPECIFIED
    assert to_json(species, Species.SETOSA) == "SETOSA"
    assert to_json(species, None) is None
    assert "expected one of SETOSA, VERSICOLOR, got 'ROSE'" in str(input_error(Species, "ROSE"))


def test_messages_build_the_declared_classes_with_proto3_defaults() -> None:
    order = to_python(
        spec(Order),
        {"items": [{"name": "a", "weight": 1}], "species": "SETOSA", "notes": {"x": [1, 2]}},
    )
    assert order == Order(
        items=[Item("a", 1.0)], species=Species.SETOSA, notes={"x": [1.0, 2.0]}, payload=b""
    )
    empty = to_python(spec(Order), {"items": None})
    assert empty == Order(items=[], species=None, notes={}, payload=b"")  # type: ignore[arg-type]


def test_errors_name_the_path_to_the_bad_value() -> None:
    error = input_error(Order, {"items": [{"name": "a"}, {"name": "b", "weight": "heavy"}]})
    assert error.path == "items[1].weight"
    assert str(error) == "items[1].weight: expected a number (double), got a string"
    assert input_error(Order, {"notes": {"k": [1, None]}}).path == 'notes["k"][1]'
    unknown = input_error(Order, {"items": [], "colour": "red"})
    assert unknown.path == "colour"
    assert "unknown field" in unknown.message
    assert input_error(Order, [1]).message == "expected an object, got a list"


def test_pydantic_models_validate_and_report_as_input_errors() -> None:
    assert to_python(spec(Reading), {"sensor": "t1", "value": 2}) == Reading(sensor="t1", value=2)
    error = input_error(Reading, {"sensor": "t1", "value": -1})
    assert error.path == "value"
    assert "greater than or equal to 0" in error.message


def test_to_json_accepts_what_models_really_return() -> None:
    output = create_namedtuple("Output", [("labels", List[int]), ("scores", List[float])])
    result = output(labels=np.array([0, 2]), scores=(np.float32(0.5), 1))
    assert to_json(spec(output), result) == {"labels": [0, 2], "scores": [0.5, 1.0]}
    assert to_json(spec(output), {"labels": [1.0]}) == {"labels": [1], "scores": []}
    assert to_json(spec(output), ([3], [0.25])) == {"labels": [3], "scores": [0.25]}
    assert to_json(spec(Order), Order([Item("a", 2)], Species.VERSICOLOR, {}, b"z")) == {
        "items": [{"name": "a", "weight": 2.0}],
        "species": "VERSICOLOR",
        "notes": {},
        "payload": b"z",
    }


def test_to_json_refuses_values_that_do_not_fit() -> None:
    output = create_namedtuple("Labels", [("labels", List[int])])
    with pytest.raises(OutputError) as caught:
        to_json(spec(output), output(labels=[1, 2.5]))
    assert caught.value.path == "labels[1]"
    with pytest.raises(OutputError, match="expected a string"):
        to_json(spec(str), 5)


# --- numpy arrays and DataFrames -------------------------------------------------------------


def test_ndarrays_decode_with_dtype_and_shape_checks() -> None:
    matrix = spec(NDArray[np.float32, (None, 2)])
    array = to_python(matrix, [[1, 2], [3, "NaN"]])
    assert array.dtype == np.float32
    assert array.shape == (2, 2)
    assert math.isnan(array[1, 1])
    assert to_python(matrix, []).shape == (0, 2)
    assert "dimension 1 must have size 2, got 3" in str(
        input_error(NDArray[np.float32, (None, 2)], [[1, 2, 3]])
    )
    assert "ragged" in str(input_error(NDArray[np.float32, (None, 2)], [[1, 2], [3]]))
    assert "expected 2 dimension(s), got 1" in str(
        input_error(NDArray[np.float32, (None, 2)], [1, 2])
    )
    assert "out of range for uint8" in str(input_error(NDArray[np.uint8], [1, 300]))
    assert "fractional" in str(input_error(NDArray[np.int64], [1.5]))
    assert input_error(NDArray[np.float64], [1.0, "x"]).path == "[1]"


def test_ndarrays_encode_to_nested_lists() -> None:
    matrix = spec(NDArray[np.float64, (None, 2)])
    assert to_json(matrix, np.array([[1, 2], [3, np.inf]])) == [[1.0, 2.0], [3.0, "Infinity"]]
    assert to_json(spec(NDArray[np.int32]), [1.0, 2.0]) == [1, 2]
    with pytest.raises(OutputError, match="dimension 1 must have size 2"):
        to_json(matrix, np.zeros((1, 3)))


def test_dataframes_decode_from_columns_or_records_and_encode_back() -> None:
    frame_type = create_dataframe("Rows", [("age", int), ("score", np.float32), ("city", str)])
    rows = spec(frame_type)
    frame = to_python(rows, {"age": [30, 41], "score": [0.5, 1], "city": ["a", "b"]})
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["age", "score", "city"]
    assert frame["score"].dtype == np.float32
    records = to_python(rows, [{"age": 30, "score": 0.5, "city": "a"}])
    assert records["city"].tolist() == ["a"]
    assert to_json(rows, frame) == {"age": [30, 41], "score": [0.5, 1.0], "city": ["a", "b"]}
    error = input_error(frame_type, {"age": [1, 2], "score": [1.0], "city": ["a", "b"]})
    assert "equal lengths" in error.message
    # An empty table is the caller's mistake, not a model failure (issue 11, defect 7).
    empty = input_error(frame_type, {"age": [], "score": [], "city": []})
    assert "no rows" in empty.message


# --- calling methods -------------------------------------------------------------------------


def test_json_caller_wraps_inputs_and_outputs() -> None:
    def scale(values: List[float], factor: float) -> List[float]:
        return [v * factor for v in values]

    input_spec = MessageSpec(
        "ScaleIn",
        (FieldSpec("values", spec(List[float]), 1), FieldSpec("factor", spec(float), 2)),
        "synthetic",
    )
    output_spec = MessageSpec("ScaleOut", (FieldSpec("value", spec(List[float]), 1),), "synthetic")
    call = make_json_caller(scale, input_spec, output_spec, wrapped_input=True, wrapped_output=True)
    assert call({"values": [1, 2], "factor": 2}) == {"value": [2.0, 4.0]}
    with pytest.raises(InputError) as caught:
        call({"values": [1, "x"]})
    assert caught.value.path == "values[1]"


def test_compiled_converters_are_reused() -> None:
    from modelbay_runtime.codec import compile_decoder, compile_encoder

    order = spec(Order)
    assert compile_decoder(order) is compile_decoder(order)
    assert compile_encoder(order) is compile_encoder(order)
    assert isinstance(spec(float), ScalarSpec)


def test_numeric_column_fast_path_keeps_the_checks() -> None:
    assert to_python(spec(List[float]), [1, 2.5]) == [1.0, 2.5]
    assert input_error(List[float], [1.0, True]).path == "[1]"
    assert input_error(List[int], [1, 2**63]).path == "[1]"
    assert to_python(spec(List[int]), [3, "4"]) == [3, 4]
    assert to_python(spec(List[int]), []) == []
