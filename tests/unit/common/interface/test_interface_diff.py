"""Interface diffs between two versions, from descriptor sets the SDK generates from real type
hints: each change is found, classified breaking or additive, and explained in one line."""

import enum
import json
import typing

from modelbay import Dict, List, Model, create_namedtuple
from modelbay.interface import build_interface
from modelbay_common.interface import InterfaceDiff, diff_interfaces

# Two versions of the same nested output type: `Detail.score` changes from float to int.
DetailV1 = create_namedtuple("Detail", [("score", float), ("ranks", List[int])])
DetailV2 = create_namedtuple("Detail", [("score", int), ("ranks", List[int])])
ReportV1 = create_namedtuple("Report", [("label", str), ("detail", DetailV1)])
ReportV2 = create_namedtuple("Report", [("label", str), ("detail", DetailV2)])
# Two versions of one enum: VERSICOLOR is dropped.
SpeciesV1 = enum.Enum("Species", {"SETOSA": 1, "VERSICOLOR": 2, "VIRGINICA": 3})
SpeciesV2 = enum.Enum("Species", {"SETOSA": 1, "VIRGINICA": 3})
SpeciesV3 = enum.Enum("Species", {"SETOSA": 1, "VERSICOLOR": 2, "VIRGINICA": 3, "HYBRID": 4})
SpeciesV4 = enum.Enum("Species", {"SETOSA": 1, "VERSICOLOUR": 2, "VIRGINICA": 3})
# A map whose values are messages: changes inside are reported under `by_name{}`.
IndexV1 = create_namedtuple("Index", [("by_name", Dict[str, DetailV1])])
IndexV2 = create_namedtuple("Index", [("by_name", Dict[str, DetailV2])])


def descriptor_set(**methods: typing.Callable[..., typing.Any]) -> bytes:
    return build_interface(Model(**methods), "iris").descriptor_set


def classify_v1(
    sepal_length: float, sepal_width: float, petal_length: float, petal_width: float
) -> int:
    raise NotImplementedError


def messages(diff: InterfaceDiff) -> list[tuple[str, str]]:
    return [(change.classification, change.message) for change in diff.changes]


V1 = descriptor_set(classify=classify_v1)


def test_identical_versions_have_no_changes() -> None:
    diff = diff_interfaces(V1, descriptor_set(classify=classify_v1))
    assert diff.changes == ()
    assert diff.breaking is False
    assert diff.to_dict() == {
        "breaking": False,
        "breaking_changes": 0,
        "additive_changes": 0,
        "changes": [],
    }


def test_added_method_and_added_field_are_additive() -> None:
    def classify(
        sepal_length: float,
        sepal_width: float,
        petal_length: float,
        petal_width: float,
        petal_area: float,
    ) -> int:
        raise NotImplementedError

    def explain(text: str) -> str:
        raise NotImplementedError

    diff = diff_interfaces(V1, descriptor_set(classify=classify, explain=explain))
    assert messages(diff) == [
        ("additive", "classify: input field petal_area (double, 5) added"),
        ("additive", "method explain (ExplainIn) → ExplainOut added"),
    ]
    assert diff.breaking is False
    assert (diff.breaking_changes, diff.additive_changes) == (0, 2)


def test_removed_field_is_breaking() -> None:
    def classify(sepal_length: float, sepal_width: float, petal_length: float) -> int:
        raise NotImplementedError

    diff = diff_interfaces(V1, descriptor_set(classify=classify))
    assert messages(diff) == [
        ("breaking", "classify: input field petal_width (double, 4) removed"),
    ]
    assert diff.breaking is True
    change = diff.changes[0]
    assert (change.kind, change.direction, change.path, change.before, change.after) == (
        "field_removed",
        "input",
        "petal_width",
        "double, 4",
        None,
    )


def test_removed_method_is_breaking() -> None:
    def explain(text: str) -> str:
        raise NotImplementedError

    diff = diff_interfaces(descriptor_set(classify=classify_v1, explain=explain), V1)
    assert messages(diff) == [("breaking", "method explain (ExplainIn) → ExplainOut removed")]


def test_retyped_field_is_breaking() -> None:
    def classify(
        sepal_length: float, sepal_width: float, petal_length: float, petal_width: int
    ) -> int:
        raise NotImplementedError

    diff = diff_interfaces(V1, descriptor_set(classify=classify))
    assert messages(diff) == [
        ("breaking", "classify: input field petal_width (double, 4) retyped to int64"),
    ]
    change = diff.changes[0]
    assert (change.kind, change.path, change.before, change.after) == (
        "field_retyped",
        "petal_width",
        "double",
        "int64",
    )


def test_renumbered_fields_are_breaking() -> None:
    def classify(
        sepal_length: float, sepal_width: float, petal_width: float, petal_length: float
    ) -> int:
        raise NotImplementedError

    diff = diff_interfaces(V1, descriptor_set(classify=classify))
    assert messages(diff) == [
        ("breaking", "classify: input field petal_length (double, 3) renumbered to 4"),
        ("breaking", "classify: input field petal_width (double, 4) renumbered to 3"),
    ]


def test_repeated_to_singular_and_back_is_breaking() -> None:
    def classify(
        sepal_length: float, sepal_width: float, petal_length: float, petal_width: List[float]
    ) -> List[int]:
        raise NotImplementedError

    forward = diff_interfaces(V1, descriptor_set(classify=classify))
    assert messages(forward) == [
        (
            "breaking",
            "classify: input field petal_width (double, 4) changed from singular to repeated "
            "(repeated double)",
        ),
        (
            "breaking",
            "classify: output field value (int64, 1) changed from singular to repeated "
            "(repeated int64)",
        ),
    ]
    backward = diff_interfaces(descriptor_set(classify=classify), V1)
    assert backward.changes[0].message == (
        "classify: input field petal_width (repeated double, 4) changed from repeated to singular "
        "(double)"
    )


def test_renamed_field_at_the_same_number_is_breaking() -> None:
    def classify(
        sepal_length: float, sepal_width: float, petal_length: float, petal_w: float
    ) -> int:
        raise NotImplementedError

    diff = diff_interfaces(V1, descriptor_set(classify=classify))
    assert messages(diff) == [
        ("breaking", "classify: input field petal_width (double, 4) renamed to petal_w"),
    ]


def test_nested_message_change_is_found_at_its_path() -> None:
    def rank_v1(text: str) -> ReportV1:  # type: ignore[valid-type]
        raise NotImplementedError

    def rank_v2(text: str) -> ReportV2:  # type: ignore[valid-type]
        raise NotImplementedError

    diff = diff_interfaces(descriptor_set(rank=rank_v1), descriptor_set(rank=rank_v2))
    assert messages(diff) == [
        ("breaking", "rank: output field detail.score (double, 1) retyped to int64"),
    ]
    assert diff.changes[0].path == "detail.score"


def test_enum_value_removed_is_breaking_and_added_is_additive() -> None:
    def predict_v1(x: float) -> SpeciesV1:  # type: ignore[valid-type]
        raise NotImplementedError

    def predict_v2(x: float) -> SpeciesV2:  # type: ignore[valid-type]
        raise NotImplementedError

    def predict_v3(x: float) -> SpeciesV3:  # type: ignore[valid-type]
        raise NotImplementedError

    v1 = descriptor_set(classify=predict_v1)
    removed = diff_interfaces(v1, descriptor_set(classify=predict_v2))
    assert messages(removed) == [
        ("breaking", "classify: output field value (Species, 1) enum value VERSICOLOR (2) removed"),
    ]
    added = diff_interfaces(v1, descriptor_set(classify=predict_v3))
    assert messages(added) == [
        ("additive", "classify: output field value (Species, 1) enum value HYBRID (4) added"),
    ]
    assert added.breaking is False


def test_a_renamed_message_type_is_not_a_change() -> None:
    """Neither protobuf bytes nor Modelbay's JSON carry message type names."""
    renamed = create_namedtuple("Verdict", [("label", str), ("detail", DetailV1)])

    def rank_v1(text: str) -> ReportV1:  # type: ignore[valid-type]
        raise NotImplementedError

    def rank_v2(text: str) -> renamed:  # type: ignore[valid-type]
        raise NotImplementedError

    assert diff_interfaces(descriptor_set(rank=rank_v1), descriptor_set(rank=rank_v2)).changes == ()


def test_the_diff_is_plain_json_for_the_catalog_api() -> None:
    def classify(sepal_length: float, sepal_width: float, petal_length: float) -> int:
        raise NotImplementedError

    diff = diff_interfaces(V1, descriptor_set(classify=classify))
    document = json.loads(json.dumps(diff.to_dict()))
    assert document["breaking"] is True
    assert document["changes"][0] == {
        "kind": "field_removed",
        "classification": "breaking",
        "method": "classify",
        "direction": "input",
        "path": "petal_width",
        "before": "double, 4",
        "after": None,
        "message": "classify: input field petal_width (double, 4) removed",
    }
    assert InterfaceDiff.model_validate(document) == diff
    assert diff.lines() == ["BREAKING: classify: input field petal_width (double, 4) removed"]


def test_an_enum_member_renamed_at_its_number_is_breaking() -> None:
    def predict_v1(x: float) -> SpeciesV1:  # type: ignore[valid-type]
        raise NotImplementedError

    def predict_v4(x: float) -> SpeciesV4:  # type: ignore[valid-type]
        raise NotImplementedError

    diff = diff_interfaces(descriptor_set(classify=predict_v1), descriptor_set(classify=predict_v4))
    assert messages(diff) == [
        (
            "breaking",
            "classify: output field value (Species, 1) enum value VERSICOLOR (2) renamed to "
            "VERSICOLOUR",
        ),
    ]


def test_changes_inside_map_values_carry_the_map_in_their_path() -> None:
    def index_v1(text: str) -> IndexV1:  # type: ignore[valid-type]
        raise NotImplementedError

    def index_v2(text: str) -> IndexV2:  # type: ignore[valid-type]
        raise NotImplementedError

    diff = diff_interfaces(descriptor_set(index=index_v1), descriptor_set(index=index_v2))
    assert messages(diff) == [
        ("breaking", "index: output field by_name{}.score (double, 1) retyped to int64"),
    ]


def test_a_field_added_at_a_number_another_field_left_is_breaking() -> None:
    """Old callers still send sepal_width as field 2; the new version would read it as ratio."""

    def classify_a(sepal_length: float, sepal_width: float) -> int:
        raise NotImplementedError

    def classify_b(sepal_width: float, ratio: float) -> int:
        raise NotImplementedError

    diff = diff_interfaces(descriptor_set(classify=classify_a), descriptor_set(classify=classify_b))
    assert messages(diff) == [
        ("breaking", "classify: input field sepal_width (double, 2) renumbered to 1"),
        ("breaking", "classify: input field sepal_length (double, 1) removed"),
        (
            "breaking",
            "classify: input field ratio (double, 2) added at number 2, which sepal_width used "
            "in the old version",
        ),
    ]
