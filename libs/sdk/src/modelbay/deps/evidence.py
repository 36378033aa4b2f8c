"""Gathering evidence: which distribution is needed, found how, and which local code to ship."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelbay.deps.local_code import LocalModule, local_module_for, module_name_for_file
from modelbay.deps.modules import ModuleClassifier, ModuleKind
from modelbay.deps.references import DirectReferenceWalker
from modelbay.deps.source_scan import FoundImport, imports_in_file, imports_in_function
from modelbay.deps.tracing import Trace

_MAX_TRACED_EXAMPLES = 3


@dataclass(frozen=True)
class UnresolvedImport:
    module: str
    found: str  # how it was found, e.g. "import in source of classify"


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
        self._pending_local: list[tuple[str, Path]] = []

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
                self._queue_local(path.name, path / "__init__.py")
            elif path.suffix == ".py":
                self._queue_local(path.stem, path)
            elif path.is_file():
                data_files[path.name] = path
            else:
                raise FileNotFoundError(f"local_files: {path} is neither a file nor a package")
        return data_files

    def from_local_module_names(self, names: Iterable[str]) -> None:
        for name in names:
            info = self.classifier.classify(name)
            file = info.file or _file_of_importable(name)
            if file is None:
                raise ModuleNotFoundError(f"local_modules: cannot find the source of {name!r}")
            self._queue_local(name, file)

    def module(self, module: str, reason: str, *, direct: bool, optional: bool = False) -> None:
        info = self.classifier.classify(module)
        if info.kind is ModuleKind.INSTALLED and info.distribution:
            self.evidence.add(info.distribution, reason, direct=direct)
        elif info.kind is ModuleKind.LOCAL and info.file is not None:
            self._queue_local(module, info.file)
        elif info.kind is ModuleKind.UNKNOWN and not optional:
            self.evidence.unresolved.setdefault(module, UnresolvedImport(module, reason))

    def found_import(self, found: FoundImport, reason: str) -> None:
        self.module(found.module, reason, direct=True, optional=found.optional)

    def _queue_local(self, name: str, file: Path) -> None:
        self._pending_local.append((name, file))

    def ship_local_modules(self) -> None:
        """Ship every queued local module, then the local modules *they* import (closure)."""
        while self._pending_local:
            name, file = self._pending_local.pop()
            local = local_module_for(name, file)
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


def _file_of_importable(name: str) -> Path | None:
    module = importlib.import_module(name)
    file = getattr(module, "__file__", None)
    return Path(file) if file else None


def warn_unresolved(unresolved: Iterable[UnresolvedImport]) -> None:
    for item in unresolved:
        warnings.warn(
            f"cannot resolve module {item.module!r} ({item.found}) to an installed "
            "distribution: it is not in the requirements. Add it with requirements=[...] "
            "if the model needs it.",
            UserWarning,
            stacklevel=4,
        )
