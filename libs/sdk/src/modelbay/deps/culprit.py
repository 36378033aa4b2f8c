"""Finding *which* object made pickling fail, and the path from the method to it.

Only runs after pickling failed, so re-pickling sub-graphs (quadratic in the worst case) is
an acceptable price for a message like
`method 'predict' → closure variable 'fh' → _io.TextIOWrapper cannot be serialized`.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

from modelbay.deps.references import (
    Edge,
    class_edges,
    container_edges,
    function_edges,
    instance_state_edges,
    user_instance_edges,
)
from modelbay.deps.tracing import traced_dumps

_MAX_DEPTH = 50


def describe_unpicklable(method_name: str, fn: Callable[..., Any]) -> str | None:
    """Path from the method to the innermost object that cannot be pickled, or None."""
    failure = _pickling_failure(fn)
    if failure is None:
        return None
    path = [f"method '{method_name}'"]
    value: Any = fn
    seen = {id(fn)}
    for _ in range(_MAX_DEPTH):
        found = _first_failing_child(value, seen)
        if found is None:
            break
        edge, failure = found
        path.append(edge.label)
        value = edge.value
    cls = type(value)
    culprit = f"{cls.__module__}.{cls.__qualname__} cannot be serialized"
    return " → ".join([*path, culprit]) + f" ({failure})"


def _first_failing_child(value: Any, seen: set[int]) -> tuple[Edge, str] | None:
    for edge in _edges(value):
        if id(edge.value) in seen:
            continue
        seen.add(id(edge.value))
        failure = _pickling_failure(edge.value)
        if failure is not None:
            return edge, failure
    return None


def _edges(value: Any) -> Iterator[Edge]:
    if isinstance(value, types.FunctionType):
        return function_edges(value)
    if isinstance(value, type):
        return class_edges(value)
    nested = container_edges(value)
    if nested is not None:
        return nested
    if isinstance(value, tuple):
        return user_instance_edges(value)
    return instance_state_edges(value)


def _pickling_failure(value: Any) -> str | None:
    try:
        traced_dumps(value)
    except Exception as exc:  # anything pickling raises is the answer we are looking for
        return f"{type(exc).__name__}: {exc}"
    return None
