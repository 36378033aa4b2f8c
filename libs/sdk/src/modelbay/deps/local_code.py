"""The contributor's local modules: which files go into the bundle's `code/` directory.

Decision: local modules are pickled *by reference* (cloudpickle's default for importable
modules) and their source is shipped in `code/`, which the loader puts on `sys.path` before
unpickling. Instances of local classes therefore unpickle as instances of the real module's
classes (isinstance checks, enums and module-level state behave as on the contributor's
machine), and the code stays readable in the bundle. A local module is shipped whole: its
top-level package directory, or the single file for a top-level module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from modelbay.deps.editable import EditableInstall

_SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints"})
LOCAL_CODE_REASON = "local code (not installed from a package index)"


class LocalCodeError(ValueError):
    """A local module or file cannot be shipped (missing, or outside its package)."""


@dataclass(frozen=True)
class ModuleLocation:
    """Where a module's source is: `file` belongs to module `name` (never to another one)."""

    name: str  # dotted name of the module `file` is the source of
    file: Path  # its source file, `__init__.py`, or directory (namespace package)

    def top_level_path(self) -> Path | None:
        """Directory (package) or file (module) of the top-level module, None if the file's
        place does not match the dotted name (e.g. a module registered under an alias)."""
        return top_level_path(self.name, self.file)


@dataclass(frozen=True)
class LocalModule:
    """One top-level local module or package and the files it ships as."""

    name: str  # top-level module name, e.g. "local_helper" or "mypkg"
    root: Path  # directory that must be on sys.path (the parent of the module)
    files: tuple[Path, ...]  # absolute source paths
    reason: str = LOCAL_CODE_REASON  # why it ships as source, e.g. "editable install of ..."
    editable: EditableInstall | None = None  # the editable distribution it comes from

    def bundle_paths(self) -> dict[str, Path]:
        """`code/`-relative POSIX path → source file."""
        return {f.relative_to(self.root).as_posix(): f for f in self.files}


def top_level_path(name: str, file: Path) -> Path | None:
    """The top-level package directory (or single-file module) that module `name` at `file`
    belongs to; None when the directories above `file` do not spell `name`."""
    parts = name.split(".")
    file = Path(os.path.abspath(file))  # not resolve(): symlinked trees keep their layout
    if file.is_dir() or file.name.partition(".")[0] == "__init__":
        package_dir, package_parts = file if file.is_dir() else file.parent, parts
    elif len(parts) == 1:  # a single-file top-level module: its file name is its name
        return file if file.name.partition(".")[0] == parts[0] else None
    else:
        if file.name.partition(".")[0] != parts[-1]:
            return None
        package_dir, package_parts = file.parent, parts[:-1]
    if len(package_dir.parts) <= len(package_parts):
        return None
    if package_dir.parts[-len(package_parts) :] != tuple(package_parts):
        return None
    return package_dir.parents[len(package_parts) - 2] if len(package_parts) > 1 else package_dir


def local_module_for(
    name: str,
    file: Path,
    *,
    reason: str = LOCAL_CODE_REASON,
    editable: EditableInstall | None = None,
) -> LocalModule:
    """The top-level local module containing module `name` whose source is `file`."""
    top = name.partition(".")[0]
    top_path = top_level_path(name, file)
    if top_path is None:
        raise LocalCodeError(
            f"local module {name} was loaded from {file}, which is not where a module named "
            f"{name!r} lives (expected it under a directory {top!r}), so Modelbay cannot tell "
            f"which files to ship. Ship its package explicitly with "
            f"local_files=['path/to/{top}'], or if it is installed from a package index, "
            f"list its distribution in requirements=[...]"
        )
    files = tuple(_python_files(top_path)) if top_path.is_dir() else (top_path,)
    return LocalModule(top, top_path.parent, files, reason=reason, editable=editable)


def _python_files(directory: Path) -> list[Path]:
    found: list[Path] = []
    for path in sorted(directory.rglob("*")):
        if any(part in _SKIPPED_DIRS for part in path.relative_to(directory).parts):
            continue
        if path.is_file() and path.suffix in (".py", ".pyi", ".json", ".txt", ".yaml", ".yml"):
            found.append(path)
    return found


def module_name_for_file(path: Path, root: Path) -> str:
    """Dotted module name of a shipped file (for reading its imports)."""
    relative = path.relative_to(root).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)
