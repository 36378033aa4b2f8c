"""What the contributor's own code refers to *directly*.

The tracing pickler sees everything, including what a library keeps inside its own objects
(scipy arrays inside a scikit-learn estimator). To tell "the model uses numpy" from "scikit-learn
uses numpy", this walk follows only the contributor's code: the globals, closure variables,
defaults and annotations of functions and classes defined in the script, the contents of plain
containers, and the attributes of instances of the contributor's classes. Every other object
is a leaf: its class's module is a direct use, its insides belong to its library.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from modelbay.deps.modules import ModuleClassifier, ModuleKind

# A huge list of numbers says nothing new after its first elements; its type mix is what counts.
_MAX_CONTAINER_ITEMS = 10_000


@dataclass(frozen=True)
class Edge:
    """One step from a parent object to a child, described for error messages."""

    label: str  # "global 'clf'", "closure variable 'fh'", "item [3]", "attribute 'model'"
    value: Any


@dataclass(frozen=True)
class DirectUse:
    module: str
    example: str  # "sklearn.ensemble._forest.RandomForestClassifier (global 'clf' of classify)"


def code_global_names(code: types.CodeType) -> set[str]:
    """Names a code object (and the code nested in it) may look up in its globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= code_global_names(const)
    return names


def function_edges(fn: types.FunctionType) -> Iterator[Edge]:
    """The objects a function carries with it when pickled by value."""
    for name in sorted(code_global_names(fn.__code__)):
        if name in fn.__globals__:
            yield Edge(f"global '{name}'", fn.__globals__[name])
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
        try:
            yield Edge(f"closure variable '{name}'", cell.cell_contents)
        except ValueError:  # an empty cell: the variable was never assigned
            continue
    params = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    for name, default in zip(reversed(params), reversed(fn.__defaults__ or ()), strict=False):
        yield Edge(f"default of parameter '{name}'", default)
    for name, default in (fn.__kwdefaults__ or {}).items():
        yield Edge(f"default of parameter '{name}'", default)
    for name, annotation in fn.__annotations__.items():
        yield Edge(f"annotation of '{name}'", annotation)


def class_edges(cls: type) -> Iterator[Edge]:
    for base in cls.__bases__:
        if base is not object:
            yield Edge(f"base class {base.__qualname__}", base)
    for name, value in vars(cls).items():
        if not (name.startswith("__") and name.endswith("__")) or name == "__init__":
            yield Edge(f"class attribute '{name}'", value)
    for name, annotation in getattr(cls, "__annotations__", {}).items():
        yield Edge(f"annotation of field '{name}'", annotation)


def container_edges(value: Any) -> Iterator[Edge] | None:
    """Children of builtin containers and typing constructs; None for anything else."""
    if isinstance(value, dict):
        items = list(value.items())[:_MAX_CONTAINER_ITEMS]
        return (edge for k, v in items for edge in (Edge("key", k), Edge(f"item [{k!r}]", v)))
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)[:_MAX_CONTAINER_ITEMS]
        return (Edge(f"item [{i}]", item) for i, item in enumerate(items))
    if isinstance(value, functools.partial):
        return iter([Edge("partial function", value.func), *map(_arg_edge, value.args)])
    if isinstance(value, staticmethod | classmethod):
        return iter([Edge("function", value.__func__)])
    if isinstance(value, property):
        accessors = (value.fget, value.fset, value.fdel)
        return (Edge("property accessor", f) for f in accessors if f is not None)
    if isinstance(value, types.MethodType):
        return iter([Edge("function", value.__func__), Edge("bound instance", value.__self__)])
    args = typing.get_args(value)
    if args and not isinstance(value, type):  # List[int], Dict[str, Input], NDArray[...]
        return (Edge(f"type argument [{i}]", arg) for i, arg in enumerate(args))
    return None


def _arg_edge(value: Any) -> Edge:
    return Edge("partial argument", value)


def instance_state_edges(value: Any) -> Iterator[Edge]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield Edge(f"attribute '{f.name}'", getattr(value, f.name, None))
        return
    state = getattr(value, "__dict__", None)
    if isinstance(state, dict):
        for name, item in state.items():
            yield Edge(f"attribute '{name}'", item)


def user_instance_edges(value: Any) -> Iterator[Edge]:
    """An instance of the contributor's own class: its class, its items, its attributes."""
    yield Edge("class", type(value))
    if isinstance(value, tuple):  # NamedTuple instances keep their values as items
        yield from (Edge(f"item [{i}]", item) for i, item in enumerate(value))
    yield from instance_state_edges(value)


class DirectReferenceWalker:
    """Collects the modules the contributor's code uses directly (see module docstring)."""

    def __init__(self, classifier: ModuleClassifier) -> None:
        self.classifier = classifier
        self.uses: dict[str, DirectUse] = {}
        # The contributor's functions reached from the methods: their source is read too.
        self.user_functions: list[types.FunctionType] = []
        self._seen: set[int] = set()

    def walk_method(self, method_name: str, fn: Callable[..., Any]) -> None:
        self._visit(fn, f"method '{method_name}'")

    def _visit(self, value: Any, where: str) -> None:
        if id(value) in self._seen or _is_atom(value):
            return
        self._seen.add(id(value))
        for edge in self._children(value, where):
            self._visit(edge.value, f"{edge.label} of {_short(value, where)}")

    def _children(self, value: Any, where: str) -> Iterator[Edge]:
        if isinstance(value, types.ModuleType):
            self._use(value.__name__, value.__name__, where)
            return iter(())
        owner = _owning_module(value)
        if owner is not None and self._is_user_code(owner):
            if isinstance(value, types.FunctionType):
                self.user_functions.append(value)
                return function_edges(value)
            if isinstance(value, type):
                return class_edges(value)
            return user_instance_edges(value)
        nested = container_edges(value)
        if nested is not None:
            return nested
        if owner is not None:
            self._use(owner, _qualified_name(value), where)
        return iter(())

    def _is_user_code(self, module: str) -> bool:
        return self.classifier.classify(module).kind in (ModuleKind.SCRIPT, ModuleKind.LOCAL)

    def _use(self, module: str, name: str, where: str) -> None:
        if module not in self.uses:
            self.uses[module] = DirectUse(module, f"{name} ({where})")


def _is_atom(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | complex | str | bytes)


def _owning_module(value: Any) -> str | None:
    """Module of a class or function itself, of an instance's class otherwise."""
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        module = getattr(value, "__module__", None)
        return module if isinstance(module, str) else None
    if isinstance(value, dict | list | tuple | set | frozenset):
        return None
    return type(value).__module__


def _qualified_name(value: Any) -> str:
    target = value if isinstance(value, type | types.FunctionType) else type(value)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"


def _short(value: Any, where: str) -> str:
    name = getattr(value, "__qualname__", None)
    if isinstance(value, types.FunctionType | type) and isinstance(name, str):
        return name
    return where
