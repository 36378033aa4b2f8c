"""The tracing pickler: cloudpickle, recording the module of everything it serializes.

`reducer_override` is called by the C pickler for every object except a handful of builtin
atoms (None, bools, ints, floats, str, bytes, plain containers), so it sees every class, every
function, every module reference and every instance (whose class it records).
"""

from __future__ import annotations

import io
import pickle
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

# File handles are tied to this machine: cloudpickle would silently pickle a readable file's
# *contents* as a StringIO, which is never what a model wants at serving time.
_FILE_TYPES = (io.FileIO, io.BufferedReader, io.BufferedWriter, io.BufferedRandom, io.TextIOWrapper)


class UnpicklableObjectError(pickle.PicklingError):
    """Raised for objects the tracing pickler refuses outright (open files)."""


@dataclass
class Trace:
    """Modules seen while pickling, each with the first object that brought it in."""

    examples: dict[str, str] = field(default_factory=dict)

    def record(self, module: str | None, qualname: str) -> None:
        if module and module not in self.examples:
            self.examples[module] = f"{module}.{qualname}" if qualname else module


class TracingPickler(cloudpickle.Pickler):  # type: ignore[misc]
    def __init__(self, file: io.BytesIO, trace: Trace) -> None:
        super().__init__(file, protocol=pickle.DEFAULT_PROTOCOL)
        self.trace = trace

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _FILE_TYPES):
            name = getattr(obj, "name", "?")
            raise UnpicklableObjectError(
                f"open file {name!r} ({_type_name(obj)}) cannot be serialized: "
                "read its contents into a variable (or a model attribute) before dumping"
            )
        reduced = super().reducer_override(obj)
        _record(self.trace, obj, by_value=reduced is not NotImplemented)
        return reduced


def _record(trace: Trace, obj: Any, *, by_value: bool) -> None:
    if isinstance(obj, types.ModuleType):
        trace.record(obj.__name__, "")
    elif isinstance(obj, type | types.FunctionType):
        # A class or function pickled by value carries its own code: its (possibly fake)
        # module is never imported at load time, only what it refers to, which is traced too.
        if not by_value:
            trace.record(obj.__module__, obj.__qualname__)
            # Importing a class imports its bases: XGBClassifier needs scikit-learn's.
            for base in getattr(obj, "__mro__", ())[1:]:
                trace.record(base.__module__, base.__qualname__)
    elif isinstance(obj, types.BuiltinFunctionType):
        trace.record(getattr(obj, "__module__", None), getattr(obj, "__qualname__", ""))
    else:
        cls = type(obj)
        if cls.__module__ in sys.modules:  # the class itself is traced when it is saved
            trace.record(cls.__module__, cls.__qualname__)


def _type_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def traced_dumps(obj: Any) -> tuple[bytes, Trace]:
    """Pickle `obj` with cloudpickle and return the bytes and the modules it touched."""
    buffer = io.BytesIO()
    trace = Trace()
    TracingPickler(buffer, trace).dump(obj)
    return buffer.getvalue(), trace
