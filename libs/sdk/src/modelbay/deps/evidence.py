"""Gathering evidence: which distribution is needed, found how, and which local code to ship."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelbay.deps.editable import EditableInstall, EditableInstallWarning
from modelbay.deps.local_code import (
    LOCAL_CODE_REASON,
    LocalModule,
    ModuleLocation,
    local_module_for,
    module_name_for_file,
)
from modelbay.deps.modules import ModuleClassifier, ModuleKind
from modelbay.deps.references import DirectReferenceWalker
from modelbay.deps.source_scan import FoundImport, imports_in_file, imports_in_function
from modelbay.deps.tracing import Trace

_MAX_TRACED_EXAMPLES = 3
_LISTED_FILE = "listed in local_files"


@dataclass(frozen=True)
class UnresolvedImport:
    module: str
    found: str  # how it was found, e.g. "import in source of classify"


@dataclass(frozen=True)
class _PendingLocal:
    location: ModuleLocation
    reason: str
    editable: EditableInstall | None = None


@dataclass
class Evidence:
    """Distributions with their reasons; `direct` ones are never pruned as transitive."""

    reasons: dict[str, list[str]] = field(default_factory=dict)
    direct: set[str] = field(default_factory=set)
    local_modules: dict[str, LocalModule] = field(default_factory=dict)
    unresolved: dict[str, UnresolvedImport] = field(default_factory=dict)
    _direct_reasons: set[str] = field(default_factory=set)

    def add(self, dist: str, reason: str, *, direct: bool) -> None:
        reasons = self.reasons.setdefault(dist, [])
        if any(r.startswith(reason + " (") for r in reasons):
            return  # already there with the path from the contributor's code
        if direct:
            self.direct.add(dist)
        elif sum(1 for r in reasons if r not in self._direct_reasons) >= _MAX_TRACED_EXAMPLES:
            return  # a big library touches hundreds of its modules: a few examples say enough
        if reason not in reasons:
            reasons.append(reason)
            if direct:
                self._direct_reasons.add(reason)


class EvidenceCollector:
    def __init__(self, classifier: ModuleClassifier) -> None:
        self.classifier = classifier
        self.evidence = Evidence()
        self._pending_local: list[_PendingLocal] = []

    def from_methods(self, methods: dict[str, Callable[..., Any]]) -> None:
        walker = DirectReferenceWalker(self.classifier)
        for name, fn in methods.items():
            walker.walk_method(name, fn)
        for use in walker.uses.values():
            self.module(use.module, f"traced object {use.example}", direct=True)
        for fn in walker.user_functions:
            for found in imports_in_function(fn):
                self.found_import(found, f"import in source of {fn.__qualname__}")

    def from_trace(self, trace: Trace) -> None:
        for module, example in trace.examples.items():
            self.module(module, f"traced object {example}", direct=False)

    def from_local_files(self, paths: Iterable[Path]) -> dict[str, Path]:
        """Ship user-listed files; Python modules/packages among them are scanned too.

        Returns the plain data files (`code/`-relative name → path)."""
        data_files: dict[str, Path] = {}
        for path in paths:
            path = path.resolve()
            if not path.exists():
                raise FileNotFoundError(f"local_files: {path} does not exist")
            if path.is_dir() and (path / "__init__.py").exists():
                self._queue_local(ModuleLocation(path.name, path / "__init__.py"), _LISTED_FILE)
            elif path.suffix == ".py":
                self._queue_local(ModuleLocation(path.stem, path), _LISTED_FILE)
            elif path.is_file():
                data_files[path.name] = path
            else:
                raise FileNotFoundError(f"local_files: {path} is neither a file nor a package")
        return data_files

    def from_local_module_names(self, names: Iterable[str]) -> None:
        for name in names:
            location = self.classifier.classify(name).location
            if location is None or location.name != name:
                location = _location_after_import(name)
            self._queue_local(location, "listed in local_modules")

    def module(self, module: str, reason: str, *, direct: bool, optional: bool = False) -> None:
        info = self.classifier.classify(module)
        if info.kind is ModuleKind.INSTALLED and info.distribution:
            self.evidence.add(info.distribution, reason, direct=direct)
        elif info.kind is ModuleKind.LOCAL and info.location is not None:
            why = info.editable.reason if info.editable else LOCAL_CODE_REASON
            self._queue_local(info.location, why, info.editable)
        elif info.kind is ModuleKind.UNKNOWN and not optional:
            self.evidence.unresolved.setdefault(module, UnresolvedImport(module, reason))

    def found_import(self, found: FoundImport, reason: str) -> None:
        self.module(found.module, reason, direct=True, optional=found.optional)

    def _queue_local(
        self, location: ModuleLocation, reason: str, editable: EditableInstall | None = None
    ) -> None:
        self._pending_local.append(_PendingLocal(location, reason, editable))

    def ship_local_modules(self) -> None:
        """Ship every queued local module, then the local modules *they* import (closure)."""
        while self._pending_local:
            pending = self._pending_local.pop()
            local = local_module_for(
                pending.location.name,
                pending.location.file,
                reason=pending.reason,
                editable=pending.editable,
            )
            if local.name in self.evidence.local_modules:
                continue
            self.evidence.local_modules[local.name] = local
            for source in local.files:
                if source.suffix != ".py":
                    continue
                module_name = module_name_for_file(source, local.root)
                for found in imports_in_file(source, module_name):
                    if found.module.partition(".")[0] != local.name:
                        self.found_import(found, f"import in local module {module_name}")


def _location_after_import(name: str) -> ModuleLocation:
    """For `local_modules=[...]` only: the contributor asked for this module by name."""
    module = importlib.import_module(name)
    file = getattr(module, "__file__", None)
    if not file:
        raise ModuleNotFoundError(
            f"local_modules: module {name!r} has no source file to ship (built-in or "
            "namespace module); list its distribution in requirements=[...] instead"
        )
    return ModuleLocation(name, Path(file))


def warn_unresolved(unresolved: Iterable[UnresolvedImport]) -> None:
    for item in unresolved:
        warnings.warn(
            f"cannot resolve module {item.module!r} ({item.found}) to an installed "
            "distribution: it is not in the requirements. Add it with requirements=[...] "
            "if the model needs it.",
            UserWarning,
            stacklevel=4,
        )


def warn_editable_shipped_as_source(local_modules: Iterable[LocalModule]) -> None:
    """One warning per editable distribution whose source was bundled in `code/`."""
    packages: dict[EditableInstall, list[str]] = {}
    for local in local_modules:
        if local.editable is not None:
            packages.setdefault(local.editable, []).append(local.name)
    for install, names in packages.items():
        pin = f"{install.distribution}=={install.version}"
        warnings.warn(
            f"{install.distribution} {install.version} is an editable install from "
            f"{install.project_dir}: its source ({', '.join(sorted(names))}) is bundled in "
            f"code/ instead of being a requirement, so the model runs with your working copy. "
            f"If this version is published on your package index, pass "
            f"requirements=[{pin!r}] to install it from there instead.",
            EditableInstallWarning,
            stacklevel=4,
        )
