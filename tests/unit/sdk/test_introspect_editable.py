"""Dependency inference for editable (`pip install -e`) and workspace-installed distributions.

The editable fixture is real: tests/models/editable_dist is installed with `uv pip install -e
--offline` into a throwaway venv (uv's own build backend, no network), and that venv's
site-packages is added to this process with `site.addsitedir`, which reads the `.pth` file
the installer wrote, exactly as Python does at start-up in that venv.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import site
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from modelbay.bundle import dump
from modelbay.deps import (
    EditableInstallWarning,
    InferenceOptions,
    LocalCodeError,
    infer,
    load_script,
)
from modelbay.deps.distributions import DistributionIndex
from modelbay.deps.local_code import local_module_for
from modelbay.deps.modules import ModuleClassifier, ModuleKind

REPO_ROOT = Path(__file__).resolve().parents[3]
MODELS = REPO_ROOT / "tests" / "models"
PROJECT = MODELS / "editable_dist"
UV = REPO_ROOT / ".tools" / "bin" / "uv"
DIST = "modelbay-demo-features"
REASON = f"editable install of {DIST} from {PROJECT}"


def _forget(prefix: str) -> None:
    for name in [m for m in sys.modules if m == prefix or m.startswith(prefix + ".")]:
        del sys.modules[name]


@pytest.fixture
def editable_install(tmp_path: Path) -> Iterator[Path]:
    """`demo_features` installed editable, visible to this process; undone afterwards."""
    if not UV.exists():
        pytest.fail(f"{UV} is missing: run `make setup`")
    venv = tmp_path / "venv"
    for args in (
        [UV, "venv", "--quiet", "--python", sys.executable, venv],
        [UV, "pip", "install", "--quiet", "--offline", "--no-deps", "--python",
         venv / "bin" / "python", "-e", PROJECT],
    ):  # fmt: skip
        done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(map(str, args))}: {done.stderr}"
    [site_packages] = venv.glob("lib/python*/site-packages")
    saved_path = list(sys.path)
    site.addsitedir(str(site_packages))
    importlib.invalidate_caches()
    try:
        yield site_packages
    finally:
        sys.path[:] = saved_path
        _forget("demo_features")
        _forget("__modelbay_script_editable_features__")
        importlib.invalidate_caches()


def _editable_model() -> ModuleType:
    _forget("demo_features.report")  # the script imports demo_features; report stays lazy
    return load_script(MODELS / "editable_features.py")


@pytest.mark.usefixtures("editable_install")
def test_editable_distribution_ships_as_source_and_the_bundle_loads_without_it(
    tmp_path: Path,
) -> None:
    module = _editable_model()
    with pytest.warns(EditableInstallWarning) as caught:
        bundle = dump(module.model, "editable-features", tmp_path / "bundle")
    assert len(caught) == 1, [str(w.message) for w in caught]

    manifest = json.loads((bundle / "manifest.json").read_text())
    assert {r.partition("==")[0] for r in manifest["requirements"]} == module.EXPECTED
    assert manifest["requirement_reasons"]["numpy"][0].startswith("traced object numpy")
    [local] = manifest["local_modules"]
    assert local["name"] in module.EXPECTED_LOCAL_MODULES
    assert sorted(local["files"]) == [
        "code/demo_features/__init__.py",
        "code/demo_features/report.py",
        "code/demo_features/scaling.py",
    ]
    assert {"name": DIST, "reason": f"shipped as code ({REASON})"} in manifest[
        "dropped_requirements"
    ]

    # This interpreter has no demo_features: only code/ can provide it to the loader.
    probe = subprocess.run([sys.executable, "-c", "import demo_features"], capture_output=True)
    assert probe.returncode != 0
    check = "from modelbay_runtime.__main__ import main; raise SystemExit(main(['check', 'b']))"
    (tmp_path / "b").symlink_to(bundle)
    result = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.modules['modelbay'] = None\n{check}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: 1 samples of editable-features")


@pytest.mark.usefixtures("editable_install")
def test_local_module_carries_the_editable_reason_and_the_warning_says_what_to_do() -> None:
    module = _editable_model()
    with pytest.warns(EditableInstallWarning) as caught:
        inference = infer({"grade": module.grade})
    [local] = inference.local_modules
    assert (local.name, local.reason) == ("demo_features", REASON)
    assert local.editable is not None
    assert local.editable.distribution == DIST
    [warning] = caught
    message = str(warning.message)
    assert f"{DIST} 0.3.0 is an editable install from {PROJECT}" in message
    assert "source (demo_features) is bundled in code/" in message
    assert f"requirements=['{DIST}==0.3.0']" in message


@pytest.mark.usefixtures("editable_install")
def test_a_submodule_not_yet_imported_is_located_by_its_own_file() -> None:
    """The reported bug: `pkg.sub` was given the file of `pkg/__init__.py`."""
    _forget("demo_features")
    info = ModuleClassifier(DistributionIndex()).classify("demo_features.report")
    assert "demo_features.report" not in sys.modules, "classifying must not import"
    assert info.kind is ModuleKind.LOCAL
    assert info.location is not None
    assert info.location.name == "demo_features.report"
    assert info.location.file == PROJECT / "src" / "demo_features" / "report.py"
    assert info.distribution == DIST
    local = local_module_for(info.location.name, info.location.file)
    assert (local.name, local.root) == ("demo_features", PROJECT / "src")


@pytest.mark.usefixtures("editable_install")
def test_naming_the_distribution_in_requirements_installs_it_from_the_index() -> None:
    module = _editable_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error", EditableInstallWarning)
        inference = infer({"grade": module.grade}, InferenceOptions(requirements=[DIST]))
    assert inference.local_modules == ()
    pins = {r.name: r.pip for r in inference.requirements}
    assert pins[DIST] == f"{DIST}==0.3.0"
    assert "user request" in dict((r.name, r.reasons) for r in inference.requirements)[DIST]


@pytest.mark.usefixtures("editable_install")
def test_excluding_the_distribution_neither_lists_nor_ships_it() -> None:
    module = _editable_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error", EditableInstallWarning)
        inference = infer({"grade": module.grade}, InferenceOptions(exclude=[DIST]))
    assert inference.local_modules == ()
    assert DIST not in {r.name for r in inference.requirements}
    assert {d.name: d.reason for d in inference.dropped}[DIST] == "excluded by user"


def test_uv_workspace_member_is_local_code_of_its_distribution() -> None:
    """The colleague's case: `modelbay_builder` is a workspace member installed editable."""
    info = ModuleClassifier(DistributionIndex()).classify("modelbay_builder.settings")
    assert info.kind is ModuleKind.LOCAL
    assert info.location is not None
    assert info.location.name == "modelbay_builder.settings"
    assert info.location.file.name == "settings.py"
    assert info.editable is not None
    assert info.editable.reason == (
        f"editable install of modelbay-builder from {REPO_ROOT / 'services' / 'builder'}"
    )
    local = local_module_for(info.location.name, info.location.file)
    assert local.root == REPO_ROOT / "services" / "builder" / "src"
    assert "modelbay_builder/settings.py" in local.bundle_paths()


def test_setuptools_flat_layout_install_is_recognised_through_its_finder_mapping(
    tmp_path: Path,
) -> None:
    """setuptools (`pip install -e .`, flat layout) maps packages with an import hook, whose
    `MAPPING` is the only record of where the package lives."""
    project = tmp_path / "flatproj"
    (project / "flatpkg").mkdir(parents=True)
    (project / "flatpkg" / "__init__.py").write_text("VALUE = 1\n")
    site_dir = tmp_path / "site"
    dist_info = site_dir / "flatpkg-1.2.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: FlatPkg\nVersion: 1.2\n")
    (dist_info / "direct_url.json").write_text(
        json.dumps({"url": project.as_uri(), "dir_info": {"editable": True}})
    )
    finder = "__editable___flatpkg_1_2_finder"
    (site_dir / f"{finder}.py").write_text(
        f"MAPPING: dict[str, str] = {{'flatpkg': {str(project / 'flatpkg')!r}}}\n"
        "def install():\n    pass\n"
    )
    (site_dir / "__editable__.flatpkg-1.2.pth").write_text(f"import {finder}; {finder}.install()\n")
    (dist_info / "RECORD").write_text(
        f"__editable__.flatpkg-1.2.pth,,\n{finder}.py,,\nflatpkg-1.2.dist-info/METADATA,,\n"
    )
    saved_path = list(sys.path)
    site.addsitedir(str(site_dir))
    sys.path.append(str(project))  # what the real finder's install() makes importable
    importlib.invalidate_caches()
    try:
        info = ModuleClassifier(DistributionIndex()).classify("flatpkg")
    finally:
        sys.path[:] = saved_path
        sys.modules.pop(finder, None)
        importlib.invalidate_caches()
    assert info.kind is ModuleKind.LOCAL
    assert info.editable is not None
    assert info.editable.reason == f"editable install of flatpkg from {project}"


def test_target_directory_install_outside_site_packages_stays_a_requirement(
    tmp_path: Path,
) -> None:
    """`pip install --target DIR` + PYTHONPATH: installed from an index, so pinned."""
    target = tmp_path / "target"
    (target / "targetpkg").mkdir(parents=True)
    (target / "targetpkg" / "__init__.py").write_text("")
    dist_info = target / "targetpkg-2.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: targetpkg\nVersion: 2.0\n")
    (dist_info / "RECORD").write_text("targetpkg/__init__.py,,\ntargetpkg-2.0.dist-info/RECORD,,\n")
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        info = ModuleClassifier(DistributionIndex()).classify("targetpkg")
    finally:
        sys.path.remove(str(target))
        importlib.invalidate_caches()
    assert (info.kind, info.distribution) == (ModuleKind.INSTALLED, "targetpkg")


def test_module_whose_file_does_not_match_its_name_gets_an_error_naming_both(
    tmp_path: Path,
) -> None:
    source = tmp_path / "elsewhere.py"
    source.write_text("def helper(x):\n    return x + 1\n")
    spec = importlib.util.spec_from_file_location("aliased_tools", source)
    assert spec is not None
    assert spec.loader is not None
    aliased = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aliased)
    sys.modules["aliased_tools"] = aliased
    script = tmp_path / "uses_alias.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys

            helper = sys.modules["aliased_tools"].helper

            def f(x: int) -> int:
                return helper(x)
            """
        )
    )
    try:
        module = load_script(script)
        with pytest.raises(LocalCodeError) as caught:
            infer({"f": module.f})
    finally:
        del sys.modules["aliased_tools"]
    message = str(caught.value)
    assert f"local module aliased_tools was loaded from {source}" in message
    assert "local_files=['path/to/aliased_tools']" in message
