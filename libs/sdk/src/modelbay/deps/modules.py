"""Sorting a module name into what the bundle must do with it.

- STDLIB and PLATFORM: nothing (Python and the image provide them).
- SCRIPT: the contributor's script or notebook (`__main__`); its functions and classes are
  pickled by value, so the module itself is never needed elsewhere.
- LOCAL: the contributor's own module next to the script, not installed from an index: its
  source goes into the bundle's `code/` directory.
- INSTALLED: a distribution from an index: a pinned requirement.
- UNKNOWN: none of the above (not importable here): a warning and `unresolved_imports`.
"""

from __future__ import annotations

import enum
import importlib.util
import site
import sys
import sysconfig
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType

from modelbay_runtime.types import DYNAMIC_MODULE

from modelbay.deps.distributions import PLATFORM_DISTRIBUTIONS, DistributionIndex

# Scripts loaded by `modelbay dump script.py:var` get module names with this prefix (see
# script.py); like `__main__` they are pickled by value.
SCRIPT_MODULE_PREFIX = "__modelbay_script"
PLATFORM_MODULES = frozenset({"modelbay", "modelbay_runtime", "cloudpickle"})


class ModuleKind(enum.Enum):
    STDLIB = "stdlib"
    PLATFORM = "platform"
    SCRIPT = "script"
    LOCAL = "local"
    INSTALLED = "installed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ModuleInfo:
    name: str
    kind: ModuleKind
    distribution: str | None = None  # for INSTALLED
    file: Path | None = None  # for LOCAL


def is_script_module(name: str) -> bool:
    """Modules whose functions and classes cloudpickle serializes by value."""
    return name in ("__main__", DYNAMIC_MODULE) or name.startswith(SCRIPT_MODULE_PREFIX)


class ModuleClassifier:
    """Classifies module names; one instance per inference (it caches lookups)."""

    def __init__(self, index: DistributionIndex) -> None:
        self.index = index
        self._cache: dict[str, ModuleInfo] = {}

    @cached_property
    def _environment_roots(self) -> tuple[Path, ...]:
        paths = sysconfig.get_paths()
        roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
        return tuple(Path(r).resolve() for r in roots if r)

    def classify(self, name: str) -> ModuleInfo:
        cached = self._cache.get(name)
        if cached is None:
            cached = self._cache[name] = self._classify(name)
        return cached

    def _classify(self, name: str) -> ModuleInfo:
        top = name.partition(".")[0]
        if is_script_module(name):
            return ModuleInfo(name, ModuleKind.SCRIPT)
        if top in sys.stdlib_module_names or top in sys.builtin_module_names:
            return ModuleInfo(name, ModuleKind.STDLIB)
        if top in PLATFORM_MODULES:
            return ModuleInfo(name, ModuleKind.PLATFORM)
        file = _module_file(name)
        dist = self.index.distribution_of(name)
        # Outside site-packages: the contributor's own code, unless it is an editable install
        # of a real distribution (then the distribution is the requirement).
        outside = file is not None and not self._inside_environment(file)
        if outside and (dist is None or not self.index.is_editable(dist)):
            return ModuleInfo(name, ModuleKind.LOCAL, file=file)
        if dist is None:
            return ModuleInfo(name, ModuleKind.UNKNOWN)
        if dist in PLATFORM_DISTRIBUTIONS:
            return ModuleInfo(name, ModuleKind.PLATFORM)
        return ModuleInfo(name, ModuleKind.INSTALLED, distribution=dist)

    def _inside_environment(self, file: Path) -> bool:
        resolved = file.resolve()
        return any(resolved.is_relative_to(root) for root in self._environment_roots)


def _module_file(name: str) -> Path | None:
    """The file a module was (or would be) loaded from, without importing it."""
    module = sys.modules.get(name)
    if isinstance(module, ModuleType):
        file = getattr(module, "__file__", None)
        if file:
            return Path(file)
        paths = list(getattr(module, "__path__", []) or [])
        return Path(paths[0]) if paths else None
    try:
        # Only the top level: find_spec on a dotted name imports the parent packages.
        spec = importlib.util.find_spec(name.partition(".")[0])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return Path(spec.origin)
    locations = list(spec.submodule_search_locations or [])
    return Path(locations[0]) if locations else None
