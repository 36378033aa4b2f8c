"""The contributor's local modules: which files go into the bundle's `code/` directory.

Decision: local modules are pickled *by reference* (cloudpickle's default for importable
modules) and their source is shipped in `code/`, which the loader puts on `sys.path` before
unpickling. Instances of local classes therefore unpickle as instances of the real module's
classes (isinstance checks, enums and module-level state behave as on the contributor's
machine), and the code stays readable in the bundle. A local module is shipped whole: its
top-level package directory, or the single file for a top-level module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints"})


class LocalCodeError(ValueError):
    """A local module or file cannot be shipped (missing, or outside its package)."""


@dataclass(frozen=True)
class LocalModule:
    """One top-level local module or package and the files it ships as."""

    name: str  # top-level module name, e.g. "local_helper" or "mypkg"
    root: Path  # directory that must be on sys.path (the parent of the module)
    files: tuple[Path, ...]  # absolute source paths

    def bundle_paths(self) -> dict[str, Path]:
        """`code/`-relative POSIX path → source file."""
        return {f.relative_to(self.root).as_posix(): f for f in self.files}


def local_module_for(name: str, file: Path) -> LocalModule:
    """The top-level local module containing module `name` whose source is `file`."""
    parts = name.split(".")
    top = parts[0]
    file = file.resolve()
    if file.is_dir():  # namespace package: __path__ entry
        package_dir = file
        depth = len(parts) - 1
    else:
        package_dir = file.parent
        depth = len(parts) - 1 if file.name == "__init__.py" else len(parts) - 2
        if depth < 0:  # a single-file top-level module
            return LocalModule(top, file.parent, (file,))
    top_dir = package_dir
    for _ in range(depth):
        top_dir = top_dir.parent
    if top_dir.name != top:
        raise LocalCodeError(f"local module {name} at {file}: cannot find its package {top!r}")
    return LocalModule(top, top_dir.parent, tuple(_python_files(top_dir)))


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
