"""Bundle validation: each broken property of a real SDK bundle is refused, naming the problem."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from modelbay import Model, dump
from modelbay_onboarding.errors import InvalidBundle
from modelbay_onboarding.validation.archive import ArchiveLimits
from modelbay_onboarding.validation.bundle import BundleRules, ValidatedBundle, validate_bundle
from onboarding_bundles import archive, edit_manifest, make_bundle_dir, refresh_checksums

RULES = BundleRules(
    limits=ArchiveLimits(1000, 100_000_000, 100, 10_000_000, 10_000_000),
    supported_python=("3.11",),
    require_samples=False,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle_dir(tmp_path_factory.mktemp("pristine") / "adder")


@pytest.fixture
def bundle_dir(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "adder"))


def _validate(bundle_dir: Path, rules: BundleRules = RULES) -> ValidatedBundle:
    return validate_bundle(archive(bundle_dir, bundle_dir.parent / "bundle.tar.gz"), rules)


def _problems(bundle_dir: Path, rules: BundleRules = RULES) -> list[dict[str, Any]]:
    with pytest.raises(InvalidBundle) as refused:
        _validate(bundle_dir, rules)
    assert refused.value.status == 422
    errors: list[dict[str, Any]] = refused.value.extensions.get("errors", [])
    return errors or [{"field": "", "message": refused.value.detail}]


def _fields(problems: list[dict[str, Any]]) -> list[str]:
    return [problem["field"] for problem in problems]


def _change(bundle_dir: Path, change: Callable[[dict[str, Any]], None]) -> None:
    edit_manifest(bundle_dir, change)


def test_a_bundle_written_by_the_sdk_passes(bundle_dir: Path) -> None:
    bundle = _validate(bundle_dir)
    assert bundle.methods == ("add",)
    assert bundle.python_version == "3.11"
    assert bundle.requirements == ()
    assert bundle.warnings == ()
    assert "message AddIn" in bundle.proto_text


def test_unknown_spec_version_names_the_supported_one(bundle_dir: Path) -> None:
    _change(bundle_dir, lambda m: m.__setitem__("spec", "2"))
    [problem] = _problems(bundle_dir)
    assert "spec '2'" in problem["message"]
    assert "reads spec '1'" in problem["message"]


def test_manifest_schema_errors_name_the_field(bundle_dir: Path) -> None:
    def break_it(manifest: dict[str, Any]) -> None:
        del manifest["methods"]["add"]["input_message"]
        manifest["requirements"] = "numpy"

    _change(bundle_dir, break_it)
    fields = _fields(_problems(bundle_dir))
    assert "manifest.methods.add.input_message" in fields
    assert "manifest.requirements" in fields


def test_missing_manifest_is_refused(bundle_dir: Path) -> None:
    (bundle_dir / "manifest.json").write_text("[]")
    [problem] = _problems(bundle_dir)
    assert "must be a JSON object" in problem["message"]


def test_a_file_changed_after_dump_fails_its_checksum(bundle_dir: Path) -> None:
    (bundle_dir / "model.pkl").write_bytes(b"not the pickle that was signed")
    [problem] = _problems(bundle_dir)
    assert problem["field"] == "manifest.files.model.pkl"
    assert "file changed after the bundle was written" in problem["message"]


def test_an_unlisted_file_is_refused(bundle_dir: Path) -> None:
    (bundle_dir / "code" / "smuggled.py").write_text("print('hi')\n")
    [problem] = _problems(bundle_dir)
    assert problem["field"] == "code/smuggled.py"
    assert "not listed in manifest.files" in problem["message"]


def test_a_method_missing_from_the_descriptor_is_named(bundle_dir: Path, tmp_path: Path) -> None:
    def times(x: float, y: float) -> float:
        return x * y

    other = dump(Model(times=times), "adder", tmp_path / "other")
    shutil.copyfile(other / "model.descriptor.pb", bundle_dir / "model.descriptor.pb")
    refresh_checksums(bundle_dir)
    messages = [p["message"] for p in _problems(bundle_dir)]
    assert "method 'add' is in the manifest but has no rpc" in messages
    assert "rpc 'times' is not a method of the manifest" in messages


def test_a_descriptor_that_does_not_parse_is_refused(bundle_dir: Path) -> None:
    (bundle_dir / "model.descriptor.pb").write_bytes(b"\xff\xff\xff garbage")
    refresh_checksums(bundle_dir)
    [problem] = _problems(bundle_dir)
    assert problem["field"] == "model.descriptor.pb"


def test_type_tree_fields_must_match_the_descriptor(bundle_dir: Path) -> None:
    _change(
        bundle_dir,
        lambda m: m["methods"]["add"]["input_type"]["fields"][1].__setitem__("name", "z"),
    )
    [problem] = _problems(bundle_dir)
    assert problem["field"] == "manifest.methods.add.input_type"
    assert "modelbay.adder.AddIn" in problem["message"]


def test_an_ill_typed_sample_names_the_field(bundle_dir: Path) -> None:
    _change(bundle_dir, lambda m: m["samples"]["add"][0]["input"].__setitem__("x", "one"))
    [problem] = _problems(bundle_dir)
    assert problem["field"] == "manifest.samples.add[0].input.x"
    assert "'one'" in problem["message"]


def test_a_sample_with_an_unknown_field_is_refused(bundle_dir: Path) -> None:
    _change(bundle_dir, lambda m: m["samples"]["add"][0]["output"].__setitem__("extra", 1))
    [problem] = _problems(bundle_dir)
    assert problem["field"] == "manifest.samples.add[0].output"
    assert "extra" in problem["message"]


def test_samples_for_an_unknown_method_are_refused(bundle_dir: Path) -> None:
    _change(bundle_dir, lambda m: m["samples"].__setitem__("subtract", []))
    assert "manifest.samples.subtract" in _fields(_problems(bundle_dir))


def test_a_method_without_samples_warns_by_default(tmp_path: Path) -> None:
    bundle = _validate(make_bundle_dir(tmp_path / "adder", samples=False))
    [warning] = bundle.warnings
    assert "'add'" in warning
    assert "samples=" in warning


def test_a_method_without_samples_is_refused_when_samples_are_required(tmp_path: Path) -> None:
    rules = BundleRules(RULES.limits, RULES.supported_python, require_samples=True)
    [problem] = _problems(make_bundle_dir(tmp_path / "adder", samples=False), rules)
    assert problem["field"] == "manifest.samples.add"


def test_an_unsupported_python_is_refused(bundle_dir: Path) -> None:
    _change(bundle_dir, lambda m: m.__setitem__("python", "3.9.18"))
    [problem] = _problems(bundle_dir)
    assert problem["field"] == "manifest.python"
    assert "Python 3.11 only" in problem["message"]


@pytest.mark.parametrize(
    ("requirement", "complaint"),
    [
        ("--index-url http://evil.example/simple", "not a PEP 508 requirement"),
        ("numpy @ https://example.com/numpy.whl", "points at a URL"),
        ("modelbay-runtime==0.1", "provided by the platform"),
    ],
)
def test_requirements_must_be_plain_index_requirements(
    bundle_dir: Path, requirement: str, complaint: str
) -> None:
    _change(bundle_dir, lambda m: m.__setitem__("requirements", ["numpy==2.0.0", requirement]))
    [problem] = _problems(bundle_dir)
    assert problem["field"] == "manifest.requirements[1]"
    assert complaint in problem["message"]


def test_several_problems_are_reported_together(bundle_dir: Path) -> None:
    def break_twice(manifest: dict[str, Any]) -> None:
        manifest["python"] = "3.12.1"
        manifest["requirements"] = ["git+https://example.com/x.git"]

    _change(bundle_dir, break_twice)
    with pytest.raises(InvalidBundle) as refused:
        _validate(bundle_dir)
    assert "and 1 more problem" in str(refused.value.detail)
    assert json.dumps(refused.value.to_problem())  # renders as problem+json
