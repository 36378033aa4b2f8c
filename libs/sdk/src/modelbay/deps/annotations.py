"""Resolving string annotations (`from __future__ import annotations`) before pickling.

A function pickled by value keeps only the globals its *code* uses, and a class pickled by
value has no importable module: string annotations such as `"List[Guess]"` could not be
resolved in the model image. Replacing them with the objects they name (what
`typing.get_type_hints` returns anyway) makes the pickle self-contained.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

from modelbay_runtime.callables import annotated_target

from modelbay.deps.modules import is_script_module


def resolve_string_annotations(functions: Iterable[Callable[..., Any]]) -> None:
    seen: set[int] = set()
    for function in functions:
        # A callable instance's annotations are its class's __call__'s; a bound method's its
        # function's.
        target = annotated_target(function)
        target = getattr(target, "__func__", target)
        if isinstance(target, types.FunctionType):
            hints = _resolved(target, target.__annotations__)
            for annotation in hints.values():
                _resolve_classes(annotation, seen)


def _resolved(owner: Any, annotations: dict[str, Any]) -> dict[str, Any]:
    # NamedTuple turns string annotations into ForwardRef objects: both need resolving.
    if not any(isinstance(value, str | typing.ForwardRef) for value in annotations.values()):
        return annotations
    hints = typing.get_type_hints(owner, include_extras=True)
    resolved = {name: hints.get(name, value) for name, value in annotations.items()}
    owner.__annotations__ = resolved
    return resolved


def _resolve_classes(annotation: Any, seen: set[int]) -> None:
    if id(annotation) in seen:
        return
    seen.add(id(annotation))
    for argument in typing.get_args(annotation):
        _resolve_classes(argument, seen)
    if isinstance(annotation, type) and is_script_module(annotation.__module__):
        own = inspect.get_annotations(annotation)  # the class's own, not inherited ones
        for value in _resolved(annotation, dict(own)).values():
            _resolve_classes(value, seen)
