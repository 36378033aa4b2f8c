"""Comparing sample outputs: floats within tolerance, the rest exactly, first difference named."""

from __future__ import annotations

import math

import pytest
from modelbay_builder.compare import Tolerance, first_difference

TOLERANCE = Tolerance(relative=1e-6, absolute=1e-9)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ({"IrisType": [1, 0, 2]}, {"IrisType": [1, 0, 2]}),
        ({"score": 0.1 + 0.2}, {"score": 0.3}),
        ({"score": 1.0}, {"score": 1.0000001}),
        ({"score": 0.0}, {"score": 1e-12}),
        ({"value": 3}, {"value": 3.0}),
        ({"value": math.nan}, {"value": math.nan}),
        (
            {"text": "setosa", "flag": True, "none": None},
            {"text": "setosa", "flag": True, "none": None},
        ),
    ],
)
def test_equal_outputs_match(expected: object, actual: object) -> None:
    assert first_difference(expected, actual, TOLERANCE) is None


@pytest.mark.parametrize(
    ("expected", "actual", "path"),
    [
        ({"IrisType": [1, 0, 2]}, {"IrisType": [1, 0, 1]}, "$.IrisType[2]"),
        ({"score": 1.0}, {"score": 1.001}, "$.score"),
        ({"IrisType": [1, 0]}, {"IrisType": [1, 0, 2]}, "$.IrisType"),
        ({"a": 1}, {"b": 1}, "$"),
        ({"a": 1}, {"a": 1, "b": 2}, "$"),
        ({"flag": True}, {"flag": 1}, "$.flag"),
        ({"text": "setosa"}, {"text": "virginica"}, "$.text"),
        (
            {"nested": {"rows": [{"p": 0.5}]}},
            {"nested": {"rows": [{"p": 0.6}]}},
            "$.nested.rows[0].p",
        ),
    ],
)
def test_first_difference_is_located(expected: object, actual: object, path: str) -> None:
    difference = first_difference(expected, actual, TOLERANCE)
    assert difference is not None
    assert difference.path == path


def test_integers_compare_exactly_even_when_large() -> None:
    assert first_difference(10**18, 10**18 + 1, TOLERANCE) is not None


def test_tolerance_is_configurable() -> None:
    assert first_difference(1.0, 1.01, TOLERANCE) is not None
    assert first_difference(1.0, 1.01, Tolerance(relative=0.05)) is None


def test_message_says_what_was_expected() -> None:
    difference = first_difference({"IrisType": [2]}, {"IrisType": [1]}, TOLERANCE)
    assert difference is not None
    assert "expected 2, got 1" in difference.message
