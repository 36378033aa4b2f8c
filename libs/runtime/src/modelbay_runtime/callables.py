"""What a model method may be: a function, a bound method, or an instance with `__call__`.

`inspect.signature` already reads all three (self dropped), but `typing.get_type_hints` on an
instance reads the *class's* variable annotations, not its `__call__`'s. The SDK (at
`Model(...)`) and the runtime (rebuilding specs from the pickle) both read hints through
`type_hints_of`, so the two agree on every kind of callable.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["annotated_target", "type_hints_of"]


def type_hints_of(function: Callable[..., Any]) -> dict[str, Any]:
    """The resolved annotations (extras kept) of calling `function`: its own for a function or
    bound method, its class's `__call__`'s for a callable instance."""
    return typing.get_type_hints(annotated_target(function), include_extras=True)


def annotated_target(function: Callable[..., Any]) -> Any:
    """What carries the annotations of calling `function`: itself, or the `__call__` function of
    a callable instance's class."""
    if inspect.isroutine(function) or isinstance(function, type):
        return function
    call = inspect.getattr_static(type(function), "__call__", None)
    return call if inspect.isfunction(call) else function
