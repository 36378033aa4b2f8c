"""Comparing a sample's output from the container with the one recorded at dump time.

Floats compare with a tolerance (the container may use other BLAS kernels than the
contributor's machine); everything else must be equal. The first difference is reported with
its JSON path, e.g. `$.IrisType[3]`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelbay_builder.errors import ImageValidationFailed


@dataclass(frozen=True)
class Tolerance:
    relative: float = 1e-6
    absolute: float = 1e-9


@dataclass(frozen=True)
class Difference:
    path: str
    message: str


def first_difference(
    expected: Any, actual: Any, tolerance: Tolerance, path: str = "$"
) -> Difference | None:
    """None when `actual` matches `expected`, else where and how they first differ."""
    if _is_number(expected) and _is_number(actual):
        return _compare_numbers(expected, actual, tolerance, path)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return _compare_objects(expected, actual, tolerance, path)
    if isinstance(expected, list) and isinstance(actual, list):
        return _compare_arrays(expected, actual, tolerance, path)
    if type(expected) is not type(actual) or expected != actual:
        return Difference(path, f"expected {_short(expected)}, got {_short(actual)}")
    return None


def check_sample_answer(
    method: str,
    index: int,
    status: int,
    actual: Any,
    expected: Any,
    tolerance: Tolerance,
    log_tail: Callable[[], str],
) -> None:
    """Raise ImageValidationFailed naming the sample when the server's answer is not the
    recorded output (an error status, or a difference beyond the tolerance)."""
    if status != 200:
        raise ImageValidationFailed(
            f"sample {index} of method {method!r}: the model server answered HTTP {status}",
            method=method,
            sample_index=index,
            expected=expected,
            actual=actual,
            log_tail=log_tail(),
        )
    difference = first_difference(expected, actual, tolerance)
    if difference:
        raise ImageValidationFailed(
            f"sample {index} of method {method!r} gave a different output at "
            f"{difference.path}: {difference.message}",
            method=method,
            sample_index=index,
            expected=expected,
            actual=actual,
        )


def _is_number(value: Any) -> bool:
    # bool is an int in Python but not a number in JSON: true must not match 1.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare_numbers(
    expected: float, actual: float, tolerance: Tolerance, path: str
) -> Difference | None:
    if isinstance(expected, int) and isinstance(actual, int):
        return (
            None if expected == actual else Difference(path, f"expected {expected}, got {actual}")
        )
    if math.isnan(expected) and math.isnan(actual):
        return None
    if math.isclose(expected, actual, rel_tol=tolerance.relative, abs_tol=tolerance.absolute):
        return None
    return Difference(
        path,
        f"expected {expected!r}, got {actual!r} (tolerance rel {tolerance.relative:g}, "
        f"abs {tolerance.absolute:g})",
    )


def _compare_objects(
    expected: dict[str, Any], actual: dict[str, Any], tolerance: Tolerance, path: str
) -> Difference | None:
    missing = sorted(set(expected) - set(actual))
    if missing:
        return Difference(path, f"missing field(s) {missing}")
    extra = sorted(set(actual) - set(expected))
    if extra:
        return Difference(path, f"unexpected field(s) {extra}")
    for key in expected:
        difference = first_difference(expected[key], actual[key], tolerance, f"{path}.{key}")
        if difference:
            return difference
    return None


def _compare_arrays(
    expected: list[Any], actual: list[Any], tolerance: Tolerance, path: str
) -> Difference | None:
    if len(expected) != len(actual):
        return Difference(path, f"expected {len(expected)} items, got {len(actual)}")
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        difference = first_difference(want, got, tolerance, f"{path}[{index}]")
        if difference:
            return difference
    return None


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
