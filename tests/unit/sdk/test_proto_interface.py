"""Interface generation: the .proto text compiles with protoc, its descriptor equals the one built
in Python, and real messages round-trip through the generated classes, protobuf bytes and JSON."""

import base64
import dataclasses
import enum
import importlib
import json
import math
import sys
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from google.protobuf import descriptor_pb2, json_format
from grpc_tools import protoc
from modelbay import Dict, List, Model, NDArray, create_dataframe, create_namedtuple
from modelbay.interface import Interface, InterfaceError, build_interface, proto_package
from modelbay_runtime.codec import (
    dict_to_message,
    load_message_classes,
    message_to_dict,
    to_json,
    to_python,
)
from modelbay_runtime.types import MessageSpec

# --- types used by the edge-case models ------------------------------------------------------

Input = create_namedtuple(
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
Output = create_namedtuple("Output", [(("IrisType", List[int]))])


class Species(enum.Enum):
    SETOSA = "setosa"
    VIRGINICA = "virginica"


class Detail(typing.NamedTuple):
    score: float
    ranks: List[int]


class Prediction(typing.NamedTuple):
    label: Species
    detail: Detail


class Report(typing.NamedTuple):
    best: Prediction
    all: List[Prediction]


@dataclasses.dataclass
class Keywords:
    message: str
    option: int
    package: List[str]
    syntax: bool
    service: Dict[str, int]
    rpc: float
    returns: bytes
    repeated: int
    string: str
    enum: int
    reserved: int
    optional: str
    max: float
    to: int
    stream: int


class string(typing.NamedTuple):  # noqa: N801 - a proto keyword as a class name, on purpose
    text: str


class Model_Like(typing.NamedTuple):  # noqa: N801
    value: int


class Features(typing.NamedTuple):
    values: List[float]


class Scores(typing.NamedTuple):
    scores: List[float]


class Nesting(typing.NamedTuple):
    series: Dict[str, List[float]]
    grid: List[List[int]]
    nested_maps: Dict[str, Dict[str, int]]
    rows: List[Dict[str, bool]]
    by_species: Dict[str, Species]
    by_name: Dict[str, Detail]
    matrix: NDArray[np.float32, (None, 2)]
    images: List[NDArray[np.uint8, (2, 2)]]
    vector: NDArray[np.int32]


Frame = create_dataframe("Frame", [("age", int), ("height", np.float32), ("name", str)])


def iris(df: Input) -> Output:  # type: ignore[valid-type]
    return Output(IrisType=[int(x > 5) for x in df.sepal_length])


# --- helpers ---------------------------------------------------------------------------------


def compile_with_protoc(tmp_path: Path, interface: Interface, stem: str) -> tuple[Any, ModuleType]:
    """Compile the text with grpcio-tools' protoc; return its descriptor and the _pb2 module."""
    (tmp_path / f"{stem}.proto").write_text(interface.proto_text)
    descriptor_out = tmp_path / f"{stem}.pb"
    rc = protoc.main(
        [
            "protoc",
            f"-I{tmp_path}",
            f"--python_out={tmp_path}",
            f"--descriptor_set_out={descriptor_out}",
            str(tmp_path / f"{stem}.proto"),
        ]
    )
    assert rc == 0, f"protoc rejected the generated proto:\n{interface.proto_text}"
    compiled = descriptor_pb2.FileDescriptorSet.FromString(descriptor_out.read_bytes()).file[0]
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module(f"{stem}_pb2")
    finally:
        sys.path.remove(str(tmp_path))
    return compiled, module


def assert_matches_protoc(tmp_path: Path, interface: Interface, stem: str) -> ModuleType:
    compiled, module = compile_with_protoc(tmp_path, interface, stem)
    compiled.name = "model.proto"  # protoc names the file after its path
    ours = interface.file_descriptor()
    assert str(ours) == str(compiled)  # readable diff on failure
    assert ours == compiled
    return module


def round_trip(interface: Interface, spec: MessageSpec, generated: type, value: Any) -> Any:
    """Python value → natural JSON → protoc-generated message → bytes → our dynamic class →
    dict → Python value. Also checks the natural JSON against the JSON Schema."""
    natural = to_json(spec, value)
    message = dict_to_message(natural, spec, generated)
    payload = message.SerializeToString()
    ours = load_message_classes(interface.descriptor_set)[
        f"{interface.package}.{generated.__name__}"
    ]
    back = to_python(spec, message_to_dict(ours.FromString(payload), spec))
    via_json = to_python(spec, json.loads(json.dumps(base64_bytes(natural))))
    assert to_json(spec, via_json) == natural
    return back


def base64_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: base64_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [base64_bytes(v) for v in value]
    return value


def assert_valid(schema: dict[str, Any], natural: Any) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(base64_bytes(natural))


# --- tests -----------------------------------------------------------------------------------


def test_fig2_interface_compiles_and_round_trips(tmp_path: Path) -> None:
    model = Model(classify=iris)
    interface = build_interface(model, "iris_model")
    assert interface.package == "modelbay.iris_model"
    assert "rpc classify (Input) returns (Output);" in interface.proto_text
    module = assert_matches_protoc(tmp_path, interface, "fig2_iris")
    method = model.methods["classify"]
    value = Input([5.1, 6.3], [3.5, 3.3], [1.4, 6.0], [0.2, 2.5])
    assert round_trip(interface, method.input_spec, module.Input, value) == value
    output = Output(IrisType=[0, 1])
    assert round_trip(interface, method.output_spec, module.Output, output) == output
    assert interface.methods["classify"].input_message == "modelbay.iris_model.Input"
    assert_valid(interface.methods["classify"].input_schema, to_json(method.input_spec, value))
    proto3_json = json_format.MessageToDict(
        dict_to_message(to_json(method.output_spec, output), method.output_spec, module.Output),
        preserving_proto_field_name=True,
    )
    assert proto3_json == {"IrisType": ["0", "1"]}  # proto3 JSON: int64 as strings...
    assert to_python(method.output_spec, proto3_json) == output  # ...which the codec accepts


def test_camel_case_method_keeps_its_rpc_name(tmp_path: Path) -> None:
    def get_shape(x: NDArray[np.float32, (None, 3)]) -> List[int]:
        return list(x.shape)

    model = Model(getShape=get_shape)
    interface = build_interface(model, "shapes")
    assert "rpc getShape (GetShapeIn) returns (GetShapeOut);" in interface.proto_text
    assert "FloatTensor matrix" not in interface.proto_text
    assert "  FloatTensor x = 1;" in interface.proto_text
    module = assert_matches_protoc(tmp_path, interface, "camel_shapes")
    method = model.methods["getShape"]
    value = {"x": np.arange(6, dtype=np.float32).reshape(2, 3)}
    back = round_trip(interface, method.input_spec, module.GetShapeIn, value)
    np.testing.assert_array_equal(back["x"], value["x"])
    assert back["x"].dtype == np.float32
    assert model.run_sample("getShape", to_json(method.input_spec, value)) == {"value": [2, 3]}


def test_reserved_words_as_field_and_type_names(tmp_path: Path) -> None:
    def echo(k: Keywords) -> Keywords:
        return k

    def wrap(s: string) -> Model_Like:  # type: ignore[valid-type]
        return Model_Like(len(s.text))

    model = Model(echo=echo, message=wrap)
    interface = build_interface(model, "keywords")
    assert "rpc message (string_) returns (Model_Like);" in interface.proto_text
    module = assert_matches_protoc(tmp_path, interface, "reserved_words")
    value = Keywords("m", 1, ["p"], True, {"s": 2}, 1.5, b"\x00r", 3, "s", 4, 5, "o", 2.5, 6, 7)
    method = model.methods["echo"]
    assert round_trip(interface, method.input_spec, module.Keywords, value) == value
    assert_valid(interface.methods["echo"].output_schema, to_json(method.output_spec, value))


def test_a_message_used_by_two_methods_is_emitted_once(tmp_path: Path) -> None:
    def predict(x: Features) -> Scores:
        return Scores(x.values)

    def explain(x: Features) -> Scores:
        return Scores([0.0 for _ in x.values])

    model = Model(predict=predict, explain=explain)
    interface = build_interface(model, "shared")
    assert interface.proto_text.count("message Features {") == 1
    assert interface.proto_text.count("message Scores {") == 1
    assert "rpc explain (Features) returns (Scores);" in interface.proto_text
    assert_matches_protoc(tmp_path, interface, "shared_messages")


def test_lists_and_maps_nest_through_wrapper_messages(tmp_path: Path) -> None:
    def reshape(n: Nesting) -> Nesting:
        return n

    model = Model(reshape=reshape)
    interface = build_interface(model, "nesting")
    text = interface.proto_text
    assert "map<string, DoubleList> series = 1;" in text
    assert "repeated Int64List grid = 2;" in text
    assert "map<string, Int64Map> nested_maps = 3;" in text
    assert "repeated BoolMap rows = 4;" in text
    assert "repeated Uint32Tensor images = 8;" in text
    assert "repeated int32 vector = 9;" in text
    module = assert_matches_protoc(tmp_path, interface, "nesting_wrappers")
    value = Nesting(
        series={"a": [1.0, math.inf], "b": []},
        grid=[[1, 2], [], [3]],
        nested_maps={"x": {"y": 1}},
        rows=[{"t": True}, {}],
        by_species={"s": Species.VIRGINICA},
        by_name={"d": Detail(0.5, [1])},
        matrix=np.array([[1, 2], [3, 4]], dtype=np.float32),
        images=[np.eye(2, dtype=np.uint8)],
        vector=np.array([7, 8], dtype=np.int32),
    )
    method = model.methods["reshape"]
    back = round_trip(interface, method.input_spec, module.Nesting, value)
    assert to_json(method.input_spec, back) == to_json(method.input_spec, value)
    assert back.images[0].dtype == np.uint8
    assert_valid(interface.methods["reshape"].input_schema, to_json(method.input_spec, value))


def test_nested_namedtuple_output_with_an_enum(tmp_path: Path) -> None:
    def rank(x: Features) -> Report:
        best = Prediction(Species.SETOSA, Detail(0.9, [1, 2]))
        return Report(best, [best, Prediction(Species.VIRGINICA, Detail(0.1, []))])

    model = Model(rank=rank)
    interface = build_interface(model, "ranker")
    assert (
        "enum Species {\n  SPECIES_UNSPECIFIED = 0;\n  SPECIES_SETOSA = 1;" in interface.proto_text
    )
    module = assert_matches_protoc(tmp_path, interface, "nested_enum")
    method = model.methods["rank"]
    report = rank(Features([]))
    assert round_trip(interface, method.output_spec, module.Report, report) == report
    natural = model.run_sample("rank", {"values": [1.0]})
    assert natural["best"] == {"label": "SETOSA", "detail": {"score": 0.9, "ranks": [1, 2]}}
    assert_valid(interface.methods["rank"].output_schema, natural)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"best": {"label": "ROSE"}}, interface.methods["rank"].output_schema)


def test_dataframe_input_and_numpy_scalars(tmp_path: Path) -> None:
    def describe(frame: Frame, threshold: np.float32) -> Dict[str, float]:  # type: ignore[valid-type]
        return {"mean_age": float(frame["age"].mean()), "threshold": float(threshold)}

    model = Model(describe=describe)
    interface = build_interface(model, "frames")
    assert "  Frame frame = 1;\n  float threshold = 2;" in interface.proto_text
    module = assert_matches_protoc(tmp_path, interface, "frames_numpy")
    method = model.methods["describe"]
    value = {
        "frame": pd.DataFrame({"age": [30, 40], "height": [1.5, 1.75], "name": ["a", "b"]}),
        "threshold": 0.5,
    }
    back = round_trip(interface, method.input_spec, module.DescribeIn, value)
    assert back["frame"]["height"].dtype == np.float32
    assert back["frame"]["name"].tolist() == ["a", "b"]
    assert model.run_sample("describe", to_json(method.input_spec, value)) == {
        "value": {"mean_age": 35.0, "threshold": 0.5}
    }


def test_descriptor_set_loads_into_a_pool_and_is_stable() -> None:
    model = Model(classify=iris)
    first, second = build_interface(model, "Iris Model"), build_interface(model, "Iris Model")
    assert first.descriptor_set == second.descriptor_set
    assert first.proto_text == second.proto_text
    classes = load_message_classes(first.descriptor_set)
    assert set(classes) == {"modelbay.iris_model.Input", "modelbay.iris_model.Output"}
    message = classes["modelbay.iris_model.Input"](sepal_length=[1.0])
    assert list(message.sepal_length) == [1.0]


def test_package_names_are_sanitised() -> None:
    assert proto_package("Iris Model-2") == "modelbay.iris_model_2"
    assert proto_package("3d-detector") == "modelbay.m_3d_detector"
    assert proto_package("***") == "modelbay.model"


def test_two_different_types_with_one_name_are_refused() -> None:
    other_detail = create_namedtuple("Detail", [("note", str)])

    def first(x: Detail) -> int:
        return 1

    def second(x: other_detail) -> int:  # type: ignore[valid-type]
        return 2

    with pytest.raises(InterfaceError, match="two different types are both named 'Detail'"):
        build_interface(Model(first=first, second=second), "clash")
    double_list = create_namedtuple("DoubleList", [("x", int)])

    def third(a: double_list, b: Dict[str, List[float]]) -> int:  # type: ignore[valid-type]
        return 3

    with pytest.raises(InterfaceError, match="'DoubleList'"):
        build_interface(Model(third=third), "clash")


def test_fields_with_the_same_json_name_are_refused() -> None:
    def f(foo_bar: int, fooBar: int) -> int:  # noqa: N803
        return foo_bar

    with pytest.raises(
        InterfaceError, match="fields 'foo_bar' and 'fooBar' have the same proto3 JSON name"
    ):
        build_interface(Model(f=f), "json_names")
