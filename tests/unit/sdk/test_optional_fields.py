"""`Optional[T]` / `T | None` fields are proto3 `optional`: the .proto and the descriptor say so
(and equal protoc's), presence survives protobuf bytes and JSON (None ↔ absent, a present zero
stays a zero), the JSON Schema admits null, and the manifest's type tree records it."""

from __future__ import annotations

import enum
import json
import typing
from pathlib import Path
from typing import NamedTuple, Optional

import pydantic
import pytest
from modelbay import List, Model
from modelbay.interface import build_interface
from modelbay_runtime.codec import dict_to_message, load_message_classes, message_to_dict
from modelbay_runtime.loader_specs import spec_to_json
from modelbay_runtime.types import (
    EnumSpec,
    MessageSpec,
    OptionalSpec,
    ScalarSpec,
    spec_of,
)
from test_proto_interface import assert_matches_protoc, assert_valid


class Tier(enum.Enum):
    BASIC = 1
    GOLD = 2


class Address(NamedTuple):
    city: str
    zip_code: str


class Applicant(NamedTuple):
    age: Optional[int]  # noqa: UP045 - the typing spelling is part of what is tested
    income: float | None
    tier: Tier | None
    address: Optional[Address]  # noqa: UP045
    name: str
    loans: List[float]


class Decision(pydantic.BaseModel):
    approved: bool
    limit: float | None = None


def decide(applicant: Applicant) -> Decision:
    if applicant.income is None:
        return Decision(approved=False)
    return Decision(approved=True, limit=applicant.income * (applicant.age or 18) / 100)


def typical_income(region: str, year: int | None) -> Optional[float]:  # noqa: UP045
    return None if year is None else 1000.0 * len(region) + year


def test_optional_and_union_with_none_are_one_spec() -> None:
    assert spec_of(Optional[int]) == OptionalSpec(ScalarSpec("int64"))  # noqa: UP045
    assert spec_of(int | None) == OptionalSpec(ScalarSpec("int64"))
    assert spec_of(typing.Union[None, str]) == OptionalSpec(ScalarSpec("string"))  # noqa: UP007
    assert isinstance(spec_of(Tier | None), OptionalSpec)
    assert isinstance(spec_of(Optional[Tier]).item, EnumSpec)  # type: ignore[attr-defined]  # noqa: UP045
    assert isinstance(spec_of(Address | None).item, MessageSpec)  # type: ignore[attr-defined]


def test_the_proto_says_optional_and_equals_protoc(tmp_path: Path) -> None:
    interface = build_interface(Model(decide=decide, income=typical_income), "loans")
    text = interface.proto_text
    for line in (
        "optional int64 age = 1;",
        "optional double income = 2;",
        "optional Tier tier = 3;",
        "optional Address address = 4;",
        "  string name = 5;",
        "repeated double loans = 6;",
        "optional double limit = 2;",
        "optional int64 year = 2;",
        "optional double value = 1;",  # IncomeOut: the wrapped Optional return
    ):
        assert line in text, text
    assert_matches_protoc(tmp_path, interface, "optional_fields")


def _over_protobuf(model: Model, method: str, natural: dict[str, typing.Any]) -> typing.Any:
    interface = build_interface(model, "loans")
    spec = model.methods[method].input_spec
    message_class = load_message_classes(interface.descriptor_set)[
        interface.methods[method].input_message
    ]
    payload = dict_to_message(natural, spec, message_class).SerializeToString()
    return message_class.FromString(payload), message_to_dict(
        message_class.FromString(payload), spec
    )


def test_presence_survives_protobuf_bytes_zero_is_not_absent() -> None:
    model = Model(decide=decide)
    present_zeros = {
        "age": 0,
        "income": 0.0,
        "tier": "BASIC",
        "address": {"city": "", "zip_code": ""},
    }
    message, back = _over_protobuf(model, "decide", present_zeros)
    assert all(message.HasField(name) for name in present_zeros)
    assert back["age"] == 0
    assert back["income"] == 0.0
    assert back["address"] is not None
    message, back = _over_protobuf(model, "decide", {"name": "ann"})
    assert not any(message.HasField(n) for n in ("age", "income", "tier", "address"))
    assert back == {
        "age": None,
        "income": None,
        "tier": None,
        "address": None,
        "name": "ann",
        "loans": [],
    }


def test_json_null_and_a_missing_key_are_none_and_the_output_writes_null() -> None:
    model = Model(decide=decide, income=typical_income)
    assert model.methods["decide"].call_json({"name": "ann"}) == {
        "approved": False,
        "limit": None,
    }
    assert model.methods["decide"].call_json({"age": None, "income": 5000.0}) == {
        "approved": True,
        "limit": 900.0,
    }
    assert model.methods["income"].call_json({"region": "eu", "year": 0}) == {"value": 2000.0}
    assert model.methods["income"].call_json({"region": "eu"}) == {"value": None}


def test_json_schema_admits_null_for_optional_fields_only() -> None:
    interface = build_interface(Model(decide=decide), "loans")
    schema = interface.methods["decide"].input_schema
    assert {"type": "null"} in schema["properties"]["age"]["anyOf"]
    assert "anyOf" not in schema["properties"]["name"]
    assert_valid(schema, {"age": None, "income": 1.0, "tier": None, "address": None})
    assert_valid(interface.methods["decide"].output_schema, {"approved": False, "limit": None})


def test_the_manifest_type_tree_records_optional() -> None:
    tree = spec_to_json(Model(decide=decide).methods["decide"].input_spec)
    assert tree["fields"][0]["type"] == {
        "kind": "optional",
        "item": {"kind": "scalar", "proto": "int64", "numpy_dtype": None},
    }
    json.dumps(tree)


def test_optional_is_refused_where_proto3_cannot_hold_it() -> None:
    def bad(values: List[float] | None) -> float:
        return 0.0

    with pytest.raises(TypeError, match="proto3 has no optional lists"):
        Model(bad=bad)
