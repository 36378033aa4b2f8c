"""Sorting a module name into what the bundle must do with it.

- STDLIB and PLATFORM: nothing (Python and the image provide them).
- SCRIPT: the contributor's script or notebook (`__main__`); its functions and classes are
  pickled by value, so the module itself is never needed elsewhere.
- LOCAL: the contributor's own module next to the script, not installed from an index: its
  source goes into the bundle's `code/` directory. So does a module of an *editable* install
  (`pip install -e`, a uv workspace member): its working copy is on no index.
- INSTALLED: a distribution from an index: a pinned requirement. An editable distribution the
  contributor named in `requirements=[...]` or `exclude=[...]` is treated as installed too.
- UNKNOWN: none of the above (not importable here): a warning and `unresolved_imports`.
"""

from __future__ import annotations

import enum
import importlib.machinery
import importlib.util
import site
import sys
import sysconfig
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

from modelbay_runtime.types import DYNAMIC_MODULE

from modelbay.deps.distributions import PLATFORM_DISTRIBUTIONS, DistributionIndex
from modelbay.deps.editable import EditableInstall
from modelbay.deps.local_code import ModuleLocation

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
    distribution: str | None = None  # for INSTALLED, and LOCAL modules of editable installs
    location: ModuleLocation | None = None  # for LOCAL
    editable: EditableInstall | None = None  # for LOCAL modules of editable installs

    @property
    def file(self) -> Path | None:
        return self.location.file if self.location else None


def is_script_module(name: str) -> bool:
    """Modules whose functions and classes cloudpickle serializes by value."""
    return name in ("__main__", DYNAMIC_MODULE) or name.startswith(SCRIPT_MODULE_PREFIX)


class ModuleClassifier:
    """Classifies module names; one instance per inference (it caches lookups)."""

    def __init__(self, index: DistributionIndex, install_from_index: Collection[str] = ()) -> None:
        self.index = index
        # Editable distributions the contributor named (requirements=[...] or exclude=[...]):
        # they meant the index's release, so their modules are not shipped as source.
        self.install_from_index = frozenset(install_from_index)
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
        location = locate_module(name)
        if location is not None and not self._inside_environment(location.file):
            return self._classify_outside_environment(name, location)
        return self._installed(name, self.index.distribution_of(name))

    def _classify_outside_environment(self, name: str, location: ModuleLocation) -> ModuleInfo:
        """Outside site-packages: an editable install, a `--target` install, or local code."""
        top_path = location.top_level_path()
        if top_path is None:  # the file does not match the name: local_module_for explains
            return ModuleInfo(name, ModuleKind.LOCAL, location=location)
        top = name.partition(".")[0]
        editable = self.index.editable_install_of(top, top_path)
        if editable is not None:
            dist = editable.distribution
            if dist in PLATFORM_DISTRIBUTIONS or dist in self.install_from_index:
                return self._installed(name, dist)
            return ModuleInfo(
                name, ModuleKind.LOCAL, distribution=dist, location=location, editable=editable
            )
        owner = self.index.distribution_of(name)
        if owner is not None and self.index.installed_into(owner, top_path.parent):
            return self._installed(name, owner)
        return ModuleInfo(name, ModuleKind.LOCAL, location=location)

    @staticmethod
    def _installed(name: str, dist: str | None) -> ModuleInfo:
        if dist is None:
            return ModuleInfo(name, ModuleKind.UNKNOWN)
        if dist in PLATFORM_DISTRIBUTIONS:
            return ModuleInfo(name, ModuleKind.PLATFORM)
        return ModuleInfo(name, ModuleKind.INSTALLED, distribution=dist)

    def _inside_environment(self, file: Path) -> bool:
        resolved = file.resolve()
        return any(resolved.is_relative_to(root) for root in self._environment_roots)


def locate_module(name: str) -> ModuleLocation | None:
    """Where module `name` was (or would be) loaded from, without importing anything.

    A submodule that cannot be found without importing its package (one its `__init__`
    creates, say) is reported as its deepest findable parent: the location always names the
    module its file belongs to, which is what deciding which files to ship relies on."""
    module = sys.modules.get(name)
    if isinstance(module, ModuleType):
        file = _file_of_module(module)
        return ModuleLocation(name, file) if file else None
    parts = name.split(".")
    try:
        # Only the top level: find_spec on a dotted name imports the parent packages.
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    located = parts[0]
    for part in parts[1:]:
        child = _find_submodule(f"{located}.{part}", spec)
        if child is None:
            break
        spec, located = child, f"{located}.{part}"
    file = _file_of_spec(spec)
    return ModuleLocation(located, file) if file else None


def _find_submodule(name: str, parent: ModuleSpec) -> ModuleSpec | None:
    imported = sys.modules.get(parent.name)
    search = getattr(imported, "__path__", None) or parent.submodule_search_locations
    if not search:
        return None  # the parent is a plain module: `name` is an attribute, not a module
    try:
        return importlib.machinery.PathFinder.find_spec(name, list(search))
    except (ImportError, ValueError):
        return None


def _file_of_module(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    if file:
        return Path(file)
    paths = list(getattr(module, "__path__", []) or [])
    return Path(paths[0]) if paths else None


def _file_of_spec(spec: ModuleSpec) -> Path | None:
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return Path(spec.origin)
    locations = list(spec.submodule_search_locations or [])
    return Path(locations[0]) if locations else None
