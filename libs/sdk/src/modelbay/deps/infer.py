"""Dependency inference (paper §IV-B): pickle the methods and find what they need elsewhere.

Evidence comes from three places — objects the contributor's code refers to directly, every
object the tracing pickler serialized, and imports in the source of the contributor's functions
and local modules — plus the contributor's own `requirements=[...]`. A distribution found only
inside another listed distribution's objects, and which that distribution depends on anyway,
is dropped: the resolver installs it as a dependency (numpy arrays inside a scikit-learn
estimator do not make numpy a requirement; `np.column_stack` in the method does).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from modelbay.deps.annotations import resolve_string_annotations
from modelbay.deps.culprit import describe_unpicklable
from modelbay.deps.distributions import PLATFORM_DISTRIBUTIONS, DistributionIndex, normalize
from modelbay.deps.editable import EditableInstallWarning
from modelbay.deps.evidence import (
    Evidence,
    EvidenceCollector,
    UnresolvedImport,
    warn_editable_shipped_as_source,
    warn_unresolved,
)
from modelbay.deps.local_code import LocalModule
from modelbay.deps.modules import ModuleClassifier
from modelbay.deps.tracing import Trace, traced_dumps


class SerializationError(ValueError):
    """The model cannot be pickled, or its pickle would need the SDK to load."""


class RequirementError(ValueError):
    """A `requirements=[...]` entry is not a valid PEP 508 requirement."""


@dataclass(frozen=True)
class InferenceOptions:
    requirements: Sequence[str] = ()  # extra PEP 508 strings ("user request")
    exclude: Sequence[str] = ()  # distribution names never to list
    local_files: Sequence[str | Path] = ()  # extra files / modules / packages to ship in code/
    local_modules: Sequence[str] = ()  # importable modules to ship as source


@dataclass(frozen=True)
class InferredRequirement:
    name: str  # PEP 503 normalised
    specifier: str  # "==1.9.1", or what the contributor wrote, or "" if not installed here
    reasons: tuple[str, ...]

    @property
    def pip(self) -> str:
        return f"{self.name}{self.specifier}"


@dataclass(frozen=True)
class DroppedRequirement:
    name: str
    reason: str  # "dependency of scikit-learn", "excluded by user", ...


@dataclass(frozen=True)
class Inference:
    pickle: bytes  # cloudpickle of {method_name: function}
    requirements: tuple[InferredRequirement, ...]
    dropped: tuple[DroppedRequirement, ...]
    local_modules: tuple[LocalModule, ...]
    data_files: Mapping[str, Path]  # code/-relative name → file (non-Python local files)
    unresolved_imports: tuple[UnresolvedImport, ...]


def infer(
    methods: Mapping[str, Callable[..., Any]], options: InferenceOptions | None = None
) -> Inference:
    options = options or InferenceOptions()
    user = _user_requirements(options.requirements)
    index = DistributionIndex()
    named = set(user) | {normalize(n) for n in options.exclude}
    collector = EvidenceCollector(ModuleClassifier(index, install_from_index=named))
    resolve_string_annotations(methods.values())
    payload, trace = pickle_methods(methods)
    collector.from_methods(dict(methods))
    collector.from_trace(trace)
    data_files = collector.from_local_files(Path(p) for p in options.local_files)
    collector.from_local_module_names(options.local_modules)
    collector.ship_local_modules()
    evidence = collector.evidence
    kept, dropped = _select(evidence, index, user, options.exclude)
    requirements = tuple(_pin(name, evidence, index, user) for name in sorted(kept))
    unresolved = tuple(evidence.unresolved[m] for m in sorted(evidence.unresolved))
    local_modules = tuple(evidence.local_modules[n] for n in sorted(evidence.local_modules))
    warn_unresolved(unresolved)
    _warn_editable_requirements(kept - set(user), index)
    warn_editable_shipped_as_source(local_modules)
    return Inference(
        pickle=payload,
        requirements=requirements,
        dropped=tuple(dropped),
        local_modules=local_modules,
        data_files=data_files,
        unresolved_imports=unresolved,
    )


def pickle_methods(methods: Mapping[str, Callable[..., Any]]) -> tuple[bytes, Trace]:
    """cloudpickle of the plain `{name: function}` dict, refusing SDK references."""
    try:
        payload, trace = traced_dumps(dict(methods))
    except Exception as exc:  # any pickling failure: find the culprit and name it
        for name, fn in methods.items():
            path = describe_unpicklable(name, fn)
            if path is not None:
                raise SerializationError(path) from exc
        raise SerializationError(f"the model cannot be serialized: {exc}") from exc
    sdk_objects = sorted(e for m, e in trace.examples.items() if m.partition(".")[0] == "modelbay")
    if sdk_objects:
        raise SerializationError(
            f"the model refers to {', '.join(sdk_objects)} from the modelbay SDK, which model "
            "images do not contain; use plain functions and the types of modelbay_runtime"
        )
    return payload, trace


def _user_requirements(texts: Sequence[str]) -> dict[str, Requirement]:
    parsed: dict[str, Requirement] = {}
    for text in texts:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise RequirementError(f"requirements: {text!r} is not valid: {exc}") from exc
        parsed[normalize(requirement.name)] = requirement
    return parsed


def _select(
    evidence: Evidence,
    index: DistributionIndex,
    user: Mapping[str, Requirement],
    exclude: Sequence[str],
) -> tuple[set[str], list[DroppedRequirement]]:
    dropped: list[DroppedRequirement] = []
    shipped = _distributions_shipped_as_code(evidence, index)
    candidates = set(evidence.reasons) | set(user)
    for name in sorted(candidates & PLATFORM_DISTRIBUTIONS):
        dropped.append(DroppedRequirement(name, "provided by the platform"))
    candidates -= PLATFORM_DISTRIBUTIONS
    for name, why in sorted(shipped.items()):
        # An editable distribution is never a candidate (its modules are local): say anyway
        # why it is not listed, so the manifest explains the absence.
        if name in candidates or why != "shipped as code":
            dropped.append(DroppedRequirement(name, why))
    candidates -= set(shipped)
    kept = set(candidates)
    # Only distributions found solely inside other objects can be pruned; a cycle keeps one.
    for name in sorted(candidates - evidence.direct - set(user)):
        owner = next((o for o in sorted(kept) if o != name and name in index.dependencies(o)), None)
        if owner is not None:
            kept.discard(name)
            dropped.append(DroppedRequirement(name, f"dependency of {owner}"))
    for name in sorted({normalize(n) for n in exclude} & kept):
        kept.discard(name)
        dropped.append(DroppedRequirement(name, "excluded by user"))
    return kept, dropped


def _warn_editable_requirements(names: set[str], index: DistributionIndex) -> None:
    # Rare: an editable distribution whose modules sit inside site-packages.
    for name in sorted(n for n in names if index.is_editable(n)):
        warnings.warn(
            f"{name} is installed in editable (development) mode: the platform can only install "
            f"it if this version is on the package index; otherwise ship its source with "
            f"local_modules=[...]",
            EditableInstallWarning,
            stacklevel=3,
        )


def _distributions_shipped_as_code(evidence: Evidence, index: DistributionIndex) -> dict[str, str]:
    """Distribution → why it is not listed, for every one whose modules ship in `code/`."""
    shipped: dict[str, str] = {}
    for local in evidence.local_modules.values():
        if local.editable is not None:
            shipped[local.editable.distribution] = f"shipped as code ({local.editable.reason})"
        else:
            dist = index.distribution_of(local.name)
            if dist is not None:
                shipped.setdefault(dist, "shipped as code")
    return shipped


def _pin(
    name: str, evidence: Evidence, index: DistributionIndex, user: Mapping[str, Requirement]
) -> InferredRequirement:
    # The most telling reasons first: paths from the contributor's code, imports, requests.
    found = evidence.reasons.get(name, [])
    reasons = sorted(found, key=lambda r: r.startswith("traced object") and " (" not in r)
    requested = user.get(name)
    if requested is not None:
        reasons.append("user request")
        if str(requested.specifier) or requested.url:
            # The contributor's own constraint wins over the installed version.
            text = str(requested)
            return InferredRequirement(name, text[len(requested.name) :], tuple(reasons))
    version = index.version(name)
    return InferredRequirement(name, f"=={version}" if version else "", tuple(reasons))
