"""Describing a descriptor set: what the SDK generates from real type hints reads back as methods,
messages, fields with their cardinality and types, nested messages and enums; bytes that are no
descriptor set are refused with a message that says so."""

import enum
import json
import typing
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc
from modelbay import Dict, List, Model, create_namedtuple
from modelbay.interface import build_interface
from modelbay_common.interface import (
    InterfaceDescription,
    InterfaceDescriptionError,
    describe_descriptor_set,
)

Input = create_namedtuple(
    "Input",
    [("sepal_length", List[float]), ("sepal_width", List[float]), ("petal_width", List[float])],
)


class IrisType(enum.Enum):
    SETOSA = 1
    VERSICOLOR = 2


class Detail(typing.NamedTuple):
    score: float
    ranks: List[int]


class Report(typing.NamedTuple):
    best: IrisType
    detail: Detail
    by_name: Dict[str, Detail]
    grid: List[List[int]]


def describe_model(name: str, **methods: typing.Callable[..., typing.Any]) -> InterfaceDescription:
    return describe_descriptor_set(build_interface(Model(**methods), name).descriptor_set)


def test_methods_messages_fields_and_enums_of_a_generated_interface() -> None:
    def classify(df: Input) -> Report:  # type: ignore[valid-type]
        raise NotImplementedError

    def count(text: str, limit: int) -> int:
        raise NotImplementedError

    described = describe_model("iris", classify=classify, count=count)

    assert described.package == "modelbay.iris"
    assert described.model_label == "iris"
    assert {name: (m.input_message, m.output_message) for name, m in described.methods.items()} == {
        "classify": ("modelbay.iris.Input", "modelbay.iris.Report"),
        "count": ("modelbay.iris.CountIn", "modelbay.iris.CountOut"),
    }
    count_in = described.message("CountIn")
    assert [(f.name, f.number, f.type_text, f.cardinality) for f in count_in.fields] == [
        ("text", 1, "string", "singular"),
        ("limit", 2, "int64", "singular"),
    ]
    report = described.message("modelbay.iris.Report")
    assert [(f.name, f.number, f.type_text, f.cardinality) for f in report.fields] == [
        ("best", 1, "IrisType", "singular"),
        ("detail", 2, "Detail", "singular"),
        ("by_name", 3, "map<string, Detail>", "map"),
        ("grid", 4, "repeated Int64List", "repeated"),
    ]
    by_name = report.fields[2]
    assert by_name.key_type is not None
    assert by_name.key_type.name == "string"
    assert (by_name.type.kind, by_name.type.name) == ("message", "modelbay.iris.Detail")
    assert report.fields[0].type.kind == "enum"
    # protoc's synthetic map entry (Report.ByNameEntry) is not a message of the interface
    assert "modelbay.iris.Report.ByNameEntry" not in described.messages
    assert report.nested_messages == ()
    assert [(f.name, f.type_text) for f in described.message("Input").fields] == [
        ("sepal_length", "repeated double"),
        ("sepal_width", "repeated double"),
        ("petal_width", "repeated double"),
    ]
    assert [(f.name, f.type_text) for f in described.message("Int64List").fields] == [
        ("values", "repeated int64")
    ]
    iris_type = described.enum("modelbay.iris.IrisType")
    assert [(v.name, v.member, v.number) for v in iris_type.values] == [
        ("IRIS_TYPE_UNSPECIFIED", "UNSPECIFIED", 0),
        ("IRIS_TYPE_SETOSA", "SETOSA", 1),
        ("IRIS_TYPE_VERSICOLOR", "VERSICOLOR", 2),
    ]
    # plain JSON for an API, and it reads back
    document = json.loads(json.dumps(described.to_dict()))
    assert InterfaceDescription.model_validate(document) == described


def test_proto3_optional_oneof_nested_types_from_protoc(tmp_path: Path) -> None:
    """What the SDK never writes but a descriptor set may hold, compiled by the real protoc."""
    (tmp_path / "extra.proto").write_text(
        'syntax = "proto3";\npackage acme.scoring;\n'
        "service Scorer { rpc score (Request) returns (Request.Verdict); }\n"
        "message Request {\n"
        "  message Verdict { enum Level { LEVEL_LOW = 0; LEVEL_HIGH = 1; } Level level = 1; }\n"
        "  optional double threshold = 1;\n"
        "  oneof source { string url = 2; bytes blob = 3; }\n"
        "  map<int64, Verdict> history = 4;\n"
        "}\n"
    )
    out = tmp_path / "extra.pb"
    assert (
        protoc.main(["protoc", f"-I{tmp_path}", f"--descriptor_set_out={out}", "extra.proto"]) == 0
    )

    described = describe_descriptor_set(out.read_bytes())

    assert described.methods["score"].output_message == "acme.scoring.Request.Verdict"
    request = described.message("Request")
    assert [(f.name, f.cardinality, f.type_text, f.oneof) for f in request.fields] == [
        ("threshold", "optional", "optional double", None),
        ("url", "singular", "string", "source"),
        ("blob", "singular", "bytes", "source"),
        ("history", "map", "map<int64, Request.Verdict>", None),
    ]
    assert request.nested_messages == ("acme.scoring.Request.Verdict",)
    verdict = described.message("Request.Verdict")
    assert verdict.nested_enums == ("acme.scoring.Request.Verdict.Level",)
    assert verdict.fields[0].type_text == "Request.Verdict.Level"
    assert [v.member for v in described.enum("acme.scoring.Request.Verdict.Level").values] == [
        "LOW",
        "HIGH",
    ]


def test_bytes_that_are_not_a_descriptor_set_are_refused() -> None:
    with pytest.raises(
        InterfaceDescriptionError, match=r"not a serialized google\.protobuf\.FileDescriptorSet"
    ):
        describe_descriptor_set(b'{"not": "protobuf"}')
    with pytest.raises(InterfaceDescriptionError, match="holds no proto file"):
        describe_descriptor_set(b"")


def test_a_bare_file_descriptor_proto_is_refused_with_a_hint() -> None:
    def count(text: str) -> int:
        raise NotImplementedError

    file_set = descriptor_pb2.FileDescriptorSet.FromString(
        build_interface(Model(count=count), "counter").descriptor_set
    )
    with pytest.raises(InterfaceDescriptionError, match="bare FileDescriptorProto"):
        describe_descriptor_set(file_set.file[0].SerializeToString())


def test_a_set_that_does_not_load_names_the_problem() -> None:
    broken = descriptor_pb2.FileDescriptorSet()
    file = broken.file.add(name="model.proto", package="modelbay.broken", syntax="proto3")
    message = file.message_type.add(name="In")
    message.field.add(
        name="detail",
        number=1,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        type_name=".modelbay.broken.Missing",
    )
    with pytest.raises(InterfaceDescriptionError, match="does not load as a consistent set"):
        describe_descriptor_set(broken.SerializeToString())


def test_unknown_message_names_list_the_known_ones() -> None:
    def count(text: str) -> int:
        raise NotImplementedError

    described = describe_model("counter", count=count)
    with pytest.raises(
        KeyError, match=r"no message 'Nope' in modelbay.counter \(messages: CountIn"
    ):
        described.message("Nope")
