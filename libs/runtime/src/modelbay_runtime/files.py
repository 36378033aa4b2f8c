"""`local_file(name)`: where a model finds, at run time, a data file it shipped with
`local_files=[...]`.

The SDK copies each listed data file into the bundle's `code/` under its base name
(`local_files=["data/thresholds.json"]` → `code/thresholds.json`). A method then calls
`local_file("thresholds.json")` and gets a path that exists wherever the bundle runs: in the
image, in a host venv (`python -m modelbay_runtime check`, the local-process mode), and at
`modelbay dump`/`push` time, where the SDK runs the samples against the bundle being written,
so a file missing from `local_files` fails the dump, not the first request. Outside any bundle
(calling the function yourself in a notebook), names resolve against the current directory.

This module is in the runtime core: a pickled method refers to `modelbay_runtime.files.local_file`
by reference (the SDK re-exports it as `modelbay.local_file`), and every image has it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

__all__ = ["bundle_files", "local_file", "use_bundle_files"]

# One bundle per process: the model server and `check` load exactly one. A global, not a
# contextvar, because the server calls methods from worker threads that would not inherit it.
_code_dir: Path | None = None


def local_file(name: str) -> Path:
    """The path of the shipped data file `name` (its base name as listed in `local_files`).

    Raises ValueError for a name that is absolute or climbs out (`..`), FileNotFoundError
    naming where it looked when the file is not there."""
    relative = PurePosixPath(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"local_file({name!r}): give the file's name as listed in local_files")
    root = _code_dir if _code_dir is not None else Path.cwd()
    path = root / relative
    if not path.is_file():
        where = "the bundle's code/" if _code_dir is not None else "the current directory"
        raise FileNotFoundError(
            f"local_file({name!r}): no such file in {where} ({path}); ship it with "
            f"local_files=[...] when you dump or push the model"
        )
    return path


def use_bundle_files(code_dir: Path) -> None:
    """Resolve `local_file` names in `code_dir` from now on (the loader calls this)."""
    global _code_dir
    _code_dir = code_dir.resolve()


@contextlib.contextmanager
def bundle_files(code_dir: Path) -> Iterator[None]:
    """Resolve `local_file` names in `code_dir` inside the block (the SDK, while it runs the
    samples of a bundle it is writing), then as before."""
    global _code_dir
    previous = _code_dir
    _code_dir = code_dir.resolve()
    try:
        yield
    finally:
        _code_dir = previous
