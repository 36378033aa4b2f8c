"""Editable (development) installs: `pip install -e .`, `uv sync` workspace members, ...

An editable install leaves only a dist-info and a `.pth` file (or an import-hook finder) in
site-packages; the modules stay in the contributor's checkout. So `packages_distributions()`
cannot map those modules (the RECORD lists no module file, the gap MLflow has too), and no
package index can reproduce the working copy. This module finds, for every editable
distribution, the directories its modules are imported from, so that a module found outside
site-packages can be attributed to the distribution that installed it.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from packaging.utils import canonicalize_name


class EditableInstallWarning(UserWarning):
    """An editable distribution was bundled as source instead of listed as a requirement."""


@dataclass(frozen=True)
class EditableInstall:
    distribution: str  # PEP 503 normalised name
    version: str
    project_dir: Path  # the source checkout, from direct_url.json
    import_roots: tuple[Path, ...]  # sys.path entries its `.pth` files add
    # top-level module → path, for installs that use an import hook instead of a path entry
    # (setuptools' `__editable___<name>_finder.py` for flat layouts).
    mapped: Mapping[str, Path] = field(default_factory=dict, hash=False)

    def provides(self, top: str, top_path: Path) -> bool:
        """True when top-level module `top`, imported from `top_path`, comes from this install."""
        resolved = top_path.resolve()
        return self.mapped.get(top) == resolved or resolved.parent in self.import_roots

    @property
    def reason(self) -> str:
        return f"editable install of {self.distribution} from {self.project_dir}"


def editable_installs() -> Iterator[EditableInstall]:
    """Every editable distribution of the current environment (first one on sys.path wins)."""
    seen: set[str] = set()
    for dist in metadata.distributions():
        install = _editable_install(dist)
        if install is not None and install.distribution not in seen:
            seen.add(install.distribution)
            yield install


def editable_project_dir(direct_url: str | None) -> Path | None:
    """The checkout of an editable install, from its PEP 610 `direct_url.json`, else None."""
    if not direct_url:
        return None
    try:
        data = json.loads(direct_url)
    except ValueError:
        return None  # a broken file must not break inference
    if not isinstance(data, dict):
        return None
    dir_info = data.get("dir_info")
    url = data.get("url")
    if not isinstance(dir_info, dict) or dir_info.get("editable") is not True:
        return None
    if not isinstance(url, str) or not url.startswith("file:"):
        return None
    return Path(url2pathname(urlsplit(url).path)).resolve()


def _editable_install(dist: metadata.Distribution) -> EditableInstall | None:
    project_dir = editable_project_dir(dist.read_text("direct_url.json"))
    name = dist.metadata["Name"]
    if project_dir is None or not name:
        return None
    roots: list[Path] = []
    mapped: dict[str, Path] = {}
    for entry in dist.files or []:
        path = Path(str(dist.locate_file(entry)))
        if entry.name.endswith(".pth"):
            roots.extend(_pth_directories(path))
        elif entry.name.startswith("__editable__") and entry.name.endswith("_finder.py"):
            mapped.update(_finder_mapping(path))
    if not roots and not mapped:
        roots.append(project_dir)  # an installer we do not know: the checkout is the best guess
    return EditableInstall(
        distribution=str(canonicalize_name(name)),
        version=dist.version,
        project_dir=project_dir,
        import_roots=tuple(roots),
        mapped=mapped,
    )


def _pth_directories(pth: Path) -> list[Path]:
    """The directories a `.pth` file adds to sys.path (as `site.addpackage` reads it)."""
    try:
        lines = pth.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    found: list[Path] = []
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#") or line.startswith(("import ", "import\t")):
            continue
        directory = pth.parent / line  # relative lines are relative to the site directory
        if directory.is_dir():
            found.append(directory.resolve())
    return found


def _finder_mapping(finder: Path) -> dict[str, Path]:
    """`MAPPING = {"pkg": "/src/pkg"}` of a setuptools editable finder, read without running it."""
    try:
        tree = ast.parse(finder.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return {}
    for node in tree.body:
        target, value = _assignment(node)
        if target == "MAPPING" and value is not None:
            try:
                mapping = ast.literal_eval(value)
            except ValueError:
                return {}
            if isinstance(mapping, dict):
                return {str(k): Path(str(v)).resolve() for k, v in mapping.items()}
    return {}


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None
