"""Type-checked connections (the paper's Fig. 5: a detector's output feeds a rule step), from
descriptor sets the SDK generates from real type hints: compatible pairs pass, mismatches are
refused field by field, names differ only through a mapping, and the paper's rule is the floor."""

import enum
import typing

import pytest
from modelbay import List, Model, create_namedtuple
from modelbay.interface import build_interface
from modelbay_common.interface import (
    ConnectionCheck,
    InterfaceDescription,
    apply_mapping,
    check_connection,
    check_method_connection,
    describe_descriptor_set,
)


class Out(typing.NamedTuple):
    label: str
    score: float


class Detail(typing.NamedTuple):
    score: float
    ranks: List[int]


class Nested(typing.NamedTuple):
    label: str
    detail: Detail


class Species(enum.Enum):
    SETOSA = 1
    VIRGINICA = 2


class Finding(typing.NamedTuple):
    species: Species
    score: float


SameIn = create_namedtuple("In", [("label", str), ("score", float)])
IntScoreIn = create_namedtuple("In", [("label", str), ("score", int)])
RenamedIn = create_namedtuple("In", [("label", str), ("confidence", float)])
ScoreOnlyIn = create_namedtuple("In", [("score", float)])
ExtraIn = create_namedtuple("In", [("label", str), ("score", float), ("threshold", float)])
ListScoreIn = create_namedtuple("In", [("label", str), ("score", List[float])])
IntDetail = create_namedtuple("Detail", [("score", int), ("ranks", List[int])])
NestedIntIn = create_namedtuple("In", [("label", str), ("detail", IntDetail)])
MoreSpecies = enum.Enum("Species", {"SETOSA": 1, "VIRGINICA": 2, "HYBRID": 3})
FewerSpecies = enum.Enum("Species", {"SETOSA": 1})
WideFindingIn = create_namedtuple("In", [("species", MoreSpecies), ("score", float)])
NarrowFindingIn = create_namedtuple("In", [("species", FewerSpecies), ("score", float)])


def interface(name: str, method: typing.Callable[..., typing.Any]) -> InterfaceDescription:
    return describe_descriptor_set(build_interface(Model(run=method), name).descriptor_set)


def detector(output: typing.Any) -> InterfaceDescription:
    def detect(image: bytes) -> output:  # type: ignore[valid-type]
        raise NotImplementedError

    return interface("detect", detect)


def rules(input_type: typing.Any) -> InterfaceDescription:
    def decide(x: input_type) -> bool:  # type: ignore[valid-type]
        raise NotImplementedError

    return interface("rules", decide)


def connect(
    output: typing.Any, input_type: typing.Any, mapping: dict[str, str] | None = None
) -> ConnectionCheck:
    return check_method_connection(
        detector(output), "run", rules(input_type), "run", mapping=mapping
    )


def explanations(check: ConnectionCheck) -> list[str]:
    return [m.explanation for m in check.mismatches]


def test_structurally_equal_messages_connect() -> None:
    check = connect(Out, SameIn)
    assert check.compatible is True
    assert check.mismatches == ()
    assert check.meets_paper_rule is True
    assert check.explain() == "detect.Out → rules.In: compatible"


def test_a_retyped_field_is_refused_with_the_field_by_field_explanation() -> None:
    check = connect(Out, IntScoreIn)
    assert check.compatible is False
    assert explanations(check) == ["detect.Out.score (double, field 2) → rules.In.score (int64)"]
    assert check.mismatches[0].reason == "types differ"
    assert check.explain() == (
        "detect.Out → rules.In: incompatible\n"
        "  detect.Out.score (double, field 2) → rules.In.score (int64): types differ"
    )
    assert check.meets_paper_rule is False


def test_different_names_are_refused_unless_mapped() -> None:
    refused = connect(Out, RenamedIn)
    assert refused.compatible is False
    assert [m.message for m in refused.mismatches] == [
        "detect.Out.score (double, field 2) → rules.In.confidence (double): "
        "names differ; map confidence ← score explicitly"
    ]
    assert refused.meets_paper_rule is True  # the paper ignores names: here Modelbay is stricter

    mapped = connect(Out, RenamedIn, mapping={"confidence": "score"})
    assert mapped.compatible is True
    assert mapped.applied is not None
    assert [(f.consumer_field, f.producer_path) for f in mapped.applied.fields] == [
        ("label", "label"),
        ("confidence", "score"),
    ]
    assert mapped.to_dict()["mapping"] == {"confidence": "score"}


def test_a_mapping_picks_fields_and_drops_the_rest() -> None:
    refused = connect(Out, ScoreOnlyIn)
    assert [m.message for m in refused.mismatches] == [
        "detect.Out.score (double, field 2) → rules.In.score (double, field 1): "
        "field numbers differ (2 ≠ 1)",
        "detect.Out.label (string, field 1) → (nothing): rules.In has no field named 'label' or "
        "numbered 1; a mapping can drop it",
    ]
    picked = connect(Out, ScoreOnlyIn, mapping={"score": "score"})
    assert picked.compatible is True
    assert picked.applied is not None
    assert picked.applied.dropped == ("label",)


def test_a_mapping_reaches_into_nested_messages() -> None:
    check = connect(Nested, ScoreOnlyIn, mapping={"score": "detail.score"})
    assert check.compatible is True
    retyped = connect(Nested, IntScoreIn, mapping={"score": "detail.score"})
    assert [m.message for m in retyped.mismatches] == [
        "detect.Nested.detail.score (double, field 1) → rules.In.score (int64): types differ"
    ]


def test_a_mapping_cannot_type_check_what_does_not_resolve() -> None:
    check = connect(
        Nested, ScoreOnlyIn, mapping={"score": "detail.ranks.first", "threshold": "label"}
    )
    assert [m.message for m in check.mismatches] == [
        "detect.Nested.label → rules.In.threshold: rules.In has no field 'threshold' to map onto",
        "detect.Nested.detail.ranks.first → rules.In.score (double): Nested.detail.ranks is "
        "repeated int64: a mapping picks only through singular message fields",
    ]
    applied = apply_mapping(
        detector(Nested), "Nested", rules(ScoreOnlyIn), "In", {"score": "detail.nope"}
    )
    assert [m.message for m in applied.problems] == [
        "detect.Nested.detail.nope → rules.In.score (double): Nested.detail has no field 'nope'"
    ]


def test_a_consumer_field_nothing_feeds_is_refused() -> None:
    check = connect(Out, ExtraIn)
    assert [m.message for m in check.mismatches] == [
        "(nothing) → rules.In.threshold (double, field 3): no field of detect.Out feeds it; "
        "a mapping can rename one onto it"
    ]
    mapped = connect(Out, ExtraIn, mapping={"threshold": "score"})
    assert mapped.compatible is True


def test_repeated_and_singular_do_not_connect() -> None:
    check = connect(Out, ListScoreIn)
    assert [m.message for m in check.mismatches] == [
        "detect.Out.score (double, field 2) → rules.In.score (repeated double): "
        "cardinality differs (singular ≠ repeated)"
    ]


def test_nested_messages_are_compared_field_by_field() -> None:
    check = connect(Nested, NestedIntIn)
    assert explanations(check) == [
        "detect.Nested.detail.score (double, field 1) → rules.In.detail.score (int64)"
    ]


def test_enums_connect_when_the_consumer_knows_every_value_sent() -> None:
    wider = connect(Finding, WideFindingIn)
    assert wider.compatible is True
    assert wider.meets_paper_rule is False  # the paper wants the same enum: Modelbay is looser
    narrower = connect(Finding, NarrowFindingIn)
    assert [m.message for m in narrower.mismatches] == [
        "detect.Finding.species (Species, field 1) → rules.In.species (Species): "
        "enum values differ: VIRGINICA (2) is not a value of Species"
    ]


def test_the_paper_rule_is_the_floor_of_every_direct_connection() -> None:
    """Whatever Modelbay accepts directly, the paper's rule accepts, except an enum consumer
    that knows more values (documented as looser)."""
    cases = [
        (Out, SameIn),
        (Out, IntScoreIn),
        (Out, RenamedIn),
        (Out, ScoreOnlyIn),
        (Out, ExtraIn),
        (Out, ListScoreIn),
        (Nested, NestedIntIn),
        (Finding, NarrowFindingIn),
    ]
    for output, input_type in cases:
        check = connect(output, input_type)
        assert not check.compatible or check.meets_paper_rule, (output, input_type)


def test_messages_by_name_and_unknown_names() -> None:
    produced, consumed = detector(Out), rules(SameIn)
    check = check_connection(
        produced, "modelbay.detect.Out", consumed, "In", producer_node="left", consumer_node="right"
    )
    assert check.compatible is True
    assert (check.producer, check.consumer) == ("left.Out", "right.In")
    with pytest.raises(KeyError, match=r"no message 'Missing' in modelbay\.rules"):
        check_connection(produced, "Out", consumed, "Missing")
    with pytest.raises(KeyError, match=r"no method 'nope' in modelbay.detect \(methods: run\)"):
        check_method_connection(produced, "nope", consumed, "run")
