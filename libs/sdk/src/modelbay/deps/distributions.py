"""Which installed distribution provides a module, its version, and what it depends on.

Everything here reads the metadata of the *current* environment: the requirements of a bundle
are the versions the contributor trained and tested with.
"""

from __future__ import annotations

import importlib.metadata as metadata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from modelbay.deps.editable import EditableInstall, editable_installs, editable_project_dir

# Provided by every Modelbay image: never listed as a model requirement.
PLATFORM_DISTRIBUTIONS = frozenset({"modelbay", "modelbay-runtime", "cloudpickle"})


def normalize(name: str) -> str:
    """PEP 503 normalised name, as pip and the resolver compare them (`scikit-learn`)."""
    return str(canonicalize_name(name))


@dataclass
class DistributionIndex:
    """Module → distribution mapping and dependency closures, computed once per inference."""

    _closures: dict[str, frozenset[str]] = field(default_factory=dict)

    @cached_property
    def _top_level(self) -> Mapping[str, list[str]]:
        # packages_distributions() scans every installed RECORD: ~150 ms, so once per index.
        return metadata.packages_distributions()

    def distribution_of(self, module: str) -> str | None:
        """Normalised name of the distribution that installed `module`, or None."""
        top = module.partition(".")[0]
        candidates = sorted({normalize(d) for d in self._top_level.get(top, [])})
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        # Namespace packages (`google.protobuf` vs `google.api`): pick the one owning the path.
        return self._owner_of_namespace_module(module, candidates) or candidates[0]

    def _owner_of_namespace_module(self, module: str, candidates: list[str]) -> str | None:
        parts = module.split(".")
        for depth in range(len(parts), 1, -1):
            prefix = PurePosixPath(*parts[:depth])
            for dist in candidates:
                files = metadata.distribution(dist).files or []
                if any(PurePosixPath(f).parts[:depth] == prefix.parts for f in files):
                    return dist
        return None

    @staticmethod
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    @staticmethod
    def is_editable(dist: str) -> bool:
        """True for `pip install -e` / workspace installs, which no index can reproduce."""
        try:
            direct_url = metadata.distribution(dist).read_text("direct_url.json")
        except metadata.PackageNotFoundError:
            return False
        return editable_project_dir(direct_url) is not None

    @cached_property
    def _editable_installs(self) -> tuple[EditableInstall, ...]:
        return tuple(editable_installs())

    def editable_install_of(self, top: str, top_path: Path) -> EditableInstall | None:
        """The editable install that provides top-level module `top` (found at `top_path`)."""
        return next((e for e in self._editable_installs if e.provides(top, top_path)), None)

    @staticmethod
    def installed_into(dist: str, directory: Path) -> bool:
        """True when `dist` was installed by an installer (it has a RECORD) into `directory`.

        Tells a `pip install --target DIR` distribution on PYTHONPATH (a requirement) from a
        module of the same name in the contributor's own directory (local code)."""
        try:
            found = metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            return False
        if found.read_text("RECORD") is None:
            return False  # `setup.py develop` egg-info: the checkout itself, not an install
        return Path(str(found.locate_file(""))).resolve() == directory.resolve()

    def dependencies(self, dist: str) -> frozenset[str]:
        """Every distribution `dist` pulls in when installed (transitively, markers honoured)."""
        cached = self._closures.get(dist)
        if cached is None:
            cached = self._closures[dist] = frozenset(self._walk(dist))
        return cached

    def _walk(self, root: str) -> set[str]:
        seen: set[str] = set()
        pending = [root]
        while pending:
            for dep in _direct_dependencies(pending.pop()):
                if dep not in seen and dep != root:
                    seen.add(dep)
                    pending.append(dep)
        return seen


def _direct_dependencies(dist: str) -> list[str]:
    try:
        declared = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return []
    environment = {key: str(value) for key, value in default_environment().items()}
    environment["extra"] = ""
    found: list[str] = []
    for text in declared:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue  # a broken METADATA line must not break inference
        # Markers decide: `extra == "docs"` or `python_version < "3.9"` deps are not installed.
        if requirement.marker is None or requirement.marker.evaluate(environment):
            found.append(normalize(requirement.name))
    return found
