"""What a bundle's pickle may import (docs/trust.md, "Pickle scanning").

Three verdicts over the globals `pickle_scan` lists:
- **blocked**: a global that reaches the operating system, the interpreter or the network
  (`os.system`, `subprocess.run`, `socket.socket`, `builtins.eval`, ...), or one the scanner
  could not resolve: what a malicious `__reduce__` calls at load. The upload is refused with 422
  unless an administrator allowed that global for that model. A by-value function's reference to
  such a module as a whole (`sys.*`: the model's code uses `sys.prefix`) is only flagged: it runs
  nothing at load (tests/e2e/models/where_am_i.py is such a legitimate model).
- **flagged**: a global outside the bundle's declared packages (its requirements and local
  modules), the platform's own packages and the standard library's safe set. Accepted, and shown
  on the version so whoever runs it can judge.
- **clean**: nothing else.

A requirement's import name is not always its distribution name (`scikit-learn` is `sklearn`):
the manifest's `requirement_reasons` name the modules the SDK traced for each requirement, and a
short table covers the usual renames. A miss only flags, it never blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from keyword import iskeyword
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement

from modelbay_onboarding.validation.pickle_scan import UNRESOLVED_MODULE, PickleGlobal

PickleStatus = Literal["clean", "flagged", "blocked"]

# Whole modules (and their submodules) that give a pickle the machine: processes, files,
# sockets, the import system, native calls, or another unpickler.
BLOCKED_MODULES = frozenset(
    {
        UNRESOLVED_MODULE,
        "os",
        "posix",
        "nt",
        "subprocess",
        "_posixsubprocess",
        "socket",
        "_socket",
        "ssl",
        "shutil",
        "importlib",
        "imp",
        "zipimport",
        "pkgutil",
        "runpy",
        "pty",
        "ctypes",
        "_ctypes",
        "sys",
        "signal",
        "multiprocessing",
        "threading",
        "_thread",
        "asyncio",
        "code",
        "codeop",
        "pdb",
        "bdb",
        "webbrowser",
        "pickle",
        "_pickle",
        "marshal",
        "shelve",
        "tempfile",
        "glob",
        "io",
        "_io",
        "fcntl",
        "resource",
        "urllib",
        "http",
        "ftplib",
        "smtplib",
        "telnetlib",
        "xmlrpc",
        "site",
        "sysconfig",
        "distutils",
        "setuptools",
        "pip",
    }
)
# Attributes of builtins that evaluate code, import, open files or reach into objects' globals.
BLOCKED_BUILTINS = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "__import__",
        "open",
        "input",
        "breakpoint",
        "globals",
        "locals",
        "vars",
        "exit",
        "quit",
        "help",
        "setattr",
        "delattr",
        "memoryview",
    }
)
_BUILTIN_MODULES = frozenset({"builtins", "__builtin__"})
# Standard-library modules whose globals only build values (containers, numbers, dates, types).
SAFE_STDLIB = frozenset(
    {
        "builtins",
        "copyreg",
        "_codecs",
        "codecs",
        "collections",
        "_collections",
        "_collections_abc",
        "datetime",
        "_datetime",
        "decimal",
        "_decimal",
        "fractions",
        "numbers",
        "enum",
        "functools",
        "_functools",
        "operator",
        "_operator",
        "typing",
        "types",
        "re",
        "_sre",
        "uuid",
        "math",
        "array",
        "string",
        "dataclasses",
        "pathlib",
        "ipaddress",
        "zoneinfo",
        "random",
        "_random",
        "statistics",
        "abc",
        "copy",
        "itertools",
        "json",
        "base64",
        "binascii",
        "zlib",
        "struct",
        "heapq",
        "bisect",
        "weakref",
        "_weakref",
        "logging",
        "warnings",
    }
)
# Shipped in every model image by the platform; cloudpickle is what loads the bundle.
PLATFORM_MODULES = frozenset({"cloudpickle", "modelbay", "modelbay_runtime"})
# Distribution name → import name, where they differ and the SDK's reasons may not say it.
KNOWN_IMPORT_NAMES: dict[str, tuple[str, ...]] = {
    "scikit-learn": ("sklearn",),
    "scikit-image": ("skimage",),
    "pillow": ("PIL",),
    "pyyaml": ("yaml",),
    "opencv-python": ("cv2",),
    "opencv-python-headless": ("cv2",),
    "beautifulsoup4": ("bs4",),
    "python-dateutil": ("dateutil",),
    "protobuf": ("google",),
    "torch": ("torch",),
    "tensorflow": ("tensorflow", "keras"),
}
# Import names a distribution's own pickles need that it does not itself provide: its
# dependencies (a scikit-learn estimator pickles numpy arrays), so they are declared with it.
KNOWN_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "sklearn": ("numpy", "scipy", "joblib"),
    "pandas": ("numpy",),
    "xgboost": ("numpy", "scipy"),
    "lightgbm": ("numpy", "scipy"),
    "scipy": ("numpy",),
    "torch": ("numpy",),
}
_TRACED_MODULE = re.compile(r"(?:traced object|import) ([A-Za-z_][\w.]*)")


@dataclass(frozen=True)
class PickleScanResult:
    """The verdict stored with the upload and shown on the version (`pickle_scan`)."""

    status: PickleStatus
    globals: tuple[str, ...]
    flagged: tuple[str, ...]
    blocked: tuple[str, ...]
    allowed: tuple[str, ...] = ()  # blocked globals an administrator allowed for this model

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "globals": list(self.globals),
            "flagged": list(self.flagged),
            "blocked": list(self.blocked),
            "allowed": list(self.allowed),
        }


def declared_modules(manifest: dict[str, Any]) -> frozenset[str]:
    """Top-level import names the bundle declares: requirements (and what the SDK traced for
    them) and local modules."""
    names: set[str] = set()
    for text in manifest.get("requirements") or ():
        try:
            dist = Requirement(str(text)).name.lower()
        except InvalidRequirement:
            continue
        names.add(dist.replace("-", "_").replace(".", "_"))
        names.update(KNOWN_IMPORT_NAMES.get(dist, ()))
    reasons = manifest.get("requirement_reasons")
    if isinstance(reasons, dict):
        for texts in reasons.values():
            for text in texts if isinstance(texts, list) else ():
                for module in _TRACED_MODULE.findall(str(text)):
                    names.add(module.split(".")[0])
    for local in manifest.get("local_modules") or ():
        if isinstance(local, dict) and isinstance(local.get("name"), str):
            names.add(local["name"].split(".")[0])
    for name in list(names):
        names.update(KNOWN_DEPENDENCIES.get(name, ()))
    return frozenset(name for name in names if name.isidentifier() and not iskeyword(name))


def is_blocked(found: PickleGlobal) -> bool:
    if found.module in _BUILTIN_MODULES:
        return found.name in BLOCKED_BUILTINS
    if found.qualified in BLOCKED_MODULES:
        return True
    parts = found.module.split(".")
    return any(".".join(parts[: i + 1]) in BLOCKED_MODULES for i in range(len(parts)))


def classify(
    found: Iterable[PickleGlobal],
    declared: frozenset[str],
    allowed: frozenset[str] = frozenset(),
) -> PickleScanResult:
    """The verdict over the globals of one pickle; `allowed` are qualified names an
    administrator allowed for this model (they count as flagged, and are listed)."""
    ordered = sorted(set(found))
    blocked: list[str] = []
    flagged: list[str] = []
    allowed_here: list[str] = []
    for item in ordered:
        top = item.module.split(".")[0]
        if item.name == "*" and item.module != UNRESOLVED_MODULE:
            # A by-value function's reference to a module (`subimport("sys")`): importing runs
            # nothing of the model's, and what the function does with it runs only when called,
            # in the sandbox. Flagged, so `import os` in model code never costs an upload.
            if is_blocked(item) or top not in SAFE_STDLIB | PLATFORM_MODULES | declared:
                flagged.append(item.qualified)
        elif is_blocked(item):
            (allowed_here if item.qualified in allowed else blocked).append(item.qualified)
        elif top not in SAFE_STDLIB | PLATFORM_MODULES | declared:
            flagged.append(item.qualified)
    status: PickleStatus = (
        "blocked" if blocked else "flagged" if flagged or allowed_here else "clean"
    )
    return PickleScanResult(
        status=status,
        globals=tuple(item.qualified for item in ordered),
        flagged=tuple(flagged + allowed_here),
        blocked=tuple(blocked),
        allowed=tuple(allowed_here),
    )
