"""proto3 `optional` (`Optional[T]` / `T | None` in the SDK) in interface descriptions, version
diffs and solution connections. The rules (docs/interface-diff.md): adding an optional field is
additive; turning a field optional or back is breaking in either direction and on either side."""

import typing
from typing import Optional

from modelbay import Model, create_namedtuple
from modelbay.interface import build_interface
from modelbay_common.interface import (
    InterfaceDiff,
    check_method_connection,
    describe_descriptor_set,
    diff_interfaces,
)


def descriptor_set(method: typing.Callable[..., typing.Any]) -> bytes:
    return build_interface(Model(score=method), "credit").descriptor_set


def messages(diff: InterfaceDiff) -> list[tuple[str, str]]:
    return [(change.classification, change.message) for change in diff.changes]


def score_v1(income: float, debts: float) -> float:
    raise NotImplementedError


def score_optional_debts(income: float, debts: float | None) -> float:
    raise NotImplementedError


def score_optional_output(income: float, debts: float) -> Optional[float]:  # noqa: UP045
    raise NotImplementedError


def score_added_optional(income: float, debts: float, age: int | None) -> float:
    raise NotImplementedError


def test_an_optional_field_is_described_as_optional_not_as_a_oneof() -> None:
    described = describe_descriptor_set(descriptor_set(score_optional_debts))
    message = described.message("modelbay.credit.ScoreIn")
    debts = message.field_named("debts")
    assert debts is not None
    assert (debts.cardinality, debts.oneof, debts.type_text) == (
        "optional",
        None,
        "optional double",
    )
    income = message.field_named("income")
    assert income is not None
    assert income.cardinality == "singular"


def test_adding_an_optional_field_is_additive() -> None:
    diff = diff_interfaces(descriptor_set(score_v1), descriptor_set(score_added_optional))
    assert messages(diff) == [("additive", "score: input field age (optional int64, 3) added")]


def test_making_an_input_field_optional_and_back_is_breaking() -> None:
    v1, v2 = descriptor_set(score_v1), descriptor_set(score_optional_debts)
    assert messages(diff_interfaces(v1, v2)) == [
        (
            "breaking",
            "score: input field debts (double, 2) changed from singular to optional "
            "(optional double)",
        )
    ]
    assert diff_interfaces(v2, v1).breaking is True


def test_making_an_output_optional_is_breaking() -> None:
    diff = diff_interfaces(descriptor_set(score_v1), descriptor_set(score_optional_output))
    assert [c.kind for c in diff.changes] == ["field_cardinality_changed"]
    assert diff.breaking is True


OptionalOut = create_namedtuple("Out", [("score", Optional[float])])  # noqa: UP045
PlainIn = create_namedtuple("In", [("score", float)])
OptionalIn = create_namedtuple("In", [("score", float | None)])


def _connect(output: typing.Any, input_type: typing.Any) -> typing.Any:
    def produce(x: float) -> output:  # type: ignore[valid-type]
        raise NotImplementedError

    def consume(x: input_type) -> bool:  # type: ignore[valid-type]
        raise NotImplementedError

    producer = describe_descriptor_set(build_interface(Model(run=produce), "p").descriptor_set)
    consumer = describe_descriptor_set(build_interface(Model(run=consume), "c").descriptor_set)
    return check_method_connection(producer, "run", consumer, "run")


def test_an_optional_output_feeds_only_an_optional_input() -> None:
    assert _connect(OptionalOut, OptionalIn).compatible is True
    refused = _connect(OptionalOut, PlainIn)
    assert refused.compatible is False
    assert "cardinality differs (optional ≠ singular)" in refused.explain()
