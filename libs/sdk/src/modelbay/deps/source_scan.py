"""Imports found by reading source code (AST), for what pickling cannot see.

A function that does `import pandas` inside its body refers to no pandas object until it runs,
so the pickle carries no trace of it. Reading the body finds it. For the contributor's local
modules the whole file is read, because the loader imports the whole module.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


@dataclass(frozen=True)
class FoundImport:
    module: str  # absolute dotted name
    optional: bool  # inside `try: ... except ImportError`: absence is not an error


def imports_in_function(fn: Callable[..., Any]) -> list[FoundImport]:
    """Imports inside the body of `fn` (nested functions included); [] if no source."""
    if not isinstance(fn, types.FunctionType) or fn.__name__ == "<lambda>":
        return []  # a lambda cannot contain an import statement
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return []  # defined in a REPL / exec'd string: tracing still covers it
    return list(_imports(tree, package=None))


def imports_in_file(path: Path, module_name: str) -> list[FoundImport]:
    """Every import of a module file; relative imports resolved against its package."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return []
    is_package = path.name == "__init__.py"
    package = module_name if is_package else module_name.rpartition(".")[0]
    return list(_imports(tree, package=package))


def _imports(tree: ast.AST, package: str | None) -> Iterator[FoundImport]:
    optional_nodes = _nodes_guarded_by_import_error(tree)
    type_checking_only = _nodes_under_type_checking(tree)
    for node in ast.walk(tree):
        if id(node) in type_checking_only:
            continue  # `if TYPE_CHECKING:` imports never run
        optional = id(node) in optional_nodes
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield FoundImport(alias.name, optional)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, package)
            if module:
                yield FoundImport(module, optional)


def _absolute(node: ast.ImportFrom, package: str | None) -> str | None:
    if node.level == 0:
        return node.module
    if not package:
        return None  # a relative import in a script means nothing outside its package
    parts = package.split(".")
    if node.level - 1 > len(parts) - 1:
        return None
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _nodes_guarded_by_import_error(tree: ast.AST) -> set[int]:
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            for statement in node.body:
                guarded.update(id(inner) for inner in ast.walk(statement))
    return guarded


def _nodes_under_type_checking(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                found.update(id(inner) for inner in ast.walk(statement))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in _IMPORT_ERRORS for n in names)
