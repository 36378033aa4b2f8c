"""modelbay: share a trained model as a typed microservice.

    from modelbay import Model, List, Dict, create_namedtuple, Session, Solution
    from modelbay import local_file   # a shipped data file's path, at run time

The types live in the runtime core (`modelbay_runtime.types`) so model images need no SDK;
they are re-exported here. `Session` and `dump` load on first use, which keeps
`import modelbay` light (no HTTP client until you push).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelbay_runtime.files import local_file
from modelbay_runtime.types import Dict, List, NDArray, create_dataframe, create_namedtuple

from modelbay.model import Model
from modelbay.solution import Solution

if TYPE_CHECKING:
    from modelbay.bundle import dump
    from modelbay.session import Session

__all__ = [
    "Dict",
    "List",
    "Model",
    "NDArray",
    "Session",
    "Solution",
    "create_dataframe",
    "create_namedtuple",
    "dump",
    "local_file",
]

_LAZY = {"Session": "modelbay.session", "dump": "modelbay.bundle"}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'modelbay' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value
