"""Validating a bundle archive before anything is stored (docs/onboarding.md, "Checks").

Order: archive safety and readability (archive.py) → manifest schema and spec version →
files and their checksums → Python version → requirements → the pickle's globals (scanned in the
archive's one pass, never unpickled: pickle_scan.py) → descriptor set against the manifest →
JSON Schemas and samples. The first two stop at the first problem (nothing after
them can be trusted); the rest are collected so one answer names every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from modelbay_runtime.loader import DESCRIPTOR_SET, MANIFEST, PICKLE, PROTO, SCHEMAS
from modelbay_runtime.onnx_model import ONNX_FILE, ONNX_KIND
from modelbay_runtime.solution import SOLUTION_FILE

from modelbay_onboarding.validation.archive import ArchiveContents, ArchiveLimits, read_archive
from modelbay_onboarding.validation.descriptors import check_descriptor_set
from modelbay_onboarding.validation.image_check import IMAGE_FILE, check_image_tar, scan_image_tar
from modelbay_onboarding.validation.image_source import (
    FIELD as IMAGE_REFERENCE_FIELD,
)
from modelbay_onboarding.validation.image_source import (
    check_image_reference,
    declared_reference,
)
from modelbay_onboarding.validation.manifest import (
    Manifest,
    check_requirements,
    check_system_packages,
    parse_manifest,
)
from modelbay_onboarding.validation.onnx_check import OnnxRules, check_onnx_graph, onnx_scanner
from modelbay_onboarding.validation.pickle_scan import (
    PickleGlobal,
    UnreadablePickleError,
    scan_pickle,
)
from modelbay_onboarding.validation.problems import BundleProblems
from modelbay_onboarding.validation.samples import check_samples, parse_schemas

REQUIRED_FILES = (PICKLE, PROTO, DESCRIPTOR_SET, SCHEMAS)
# An ONNX bundle (docs/onnx.md) carries the graph where a Python bundle has its pickle, a
# pre-built image's (docs/prebuilt-images.md) its `docker save` tarball.
ONNX_REQUIRED_FILES = (ONNX_FILE, PROTO, DESCRIPTOR_SET, SCHEMAS)
IMAGE_KIND = "image"
IMAGE_REQUIRED_FILES = (IMAGE_FILE, PROTO, DESCRIPTOR_SET, SCHEMAS)
# ... or, pushed by reference into the platform's registry, no tarball (image_source.py).
IMAGE_BY_REFERENCE_REQUIRED_FILES = (PROTO, DESCRIPTOR_SET, SCHEMAS)
KEPT_FILES = frozenset({MANIFEST, PROTO, DESCRIPTOR_SET, SCHEMAS})


@dataclass(frozen=True)
class ValidatedBundle:
    """A bundle that passed every check, with what storage and the events need."""

    manifest: Manifest
    requirements: tuple[str, ...]
    proto_text: str
    descriptor_set: bytes
    schemas: dict[str, Any]
    warnings: tuple[str, ...] = ()
    # What the pickle imports (never unpickled); the policy is applied by the upload use case,
    # which knows the administrator's allowances for the model.
    pickle_globals: tuple[PickleGlobal, ...] = ()
    # A pushed image runs no Python of the bundle's: it takes the platform's first served
    # version (resolver, probe image, provenance), whatever Python the contributor's SDK had.
    python_override: str | None = None
    system_packages: tuple[str, ...] = ()
    # A pre-built image pushed by reference (canonical form); the upload use case checks the
    # uploader may use it (image_source.check_image_source).
    image_reference: str | None = None

    @property
    def python_version(self) -> str:
        return self.python_override or self.manifest.python_minor

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.manifest.methods)


@dataclass(frozen=True)
class BundleRules:
    limits: ArchiveLimits
    supported_python: tuple[str, ...]
    require_samples: bool
    onnx: OnnxRules = field(default_factory=OnnxRules)


def validate_bundle(path: Path, rules: BundleRules) -> ValidatedBundle:
    """Check the archive at `path`; raise a 4xx ModelbayError naming the problem(s).

    Synchronous and CPU-bound: call it in a worker thread. Never unpickles anything.
    """
    scanners = {
        PICKLE: _scan_or_say_why,
        ONNX_FILE: onnx_scanner(rules.onnx),
        IMAGE_FILE: scan_image_tar,
    }
    contents = read_archive(path, KEPT_FILES, rules.limits, scanners)
    manifest = parse_manifest(contents.kept.get(MANIFEST))
    problems = BundleProblems()
    kind = str((manifest.model_extra or {}).get("kind") or "model")
    by_reference = kind == IMAGE_KIND and declared_reference(manifest.model_extra) is not None
    required = {
        ONNX_KIND: ONNX_REQUIRED_FILES,
        IMAGE_KIND: IMAGE_BY_REFERENCE_REQUIRED_FILES if by_reference else IMAGE_REQUIRED_FILES,
    }
    _refuse_solution(manifest, contents, problems)
    _check_files(manifest, contents, problems, required.get(kind, REQUIRED_FILES))
    if kind != IMAGE_KIND:
        _check_python(manifest, rules.supported_python, problems)
    requirements = check_requirements(manifest.requirements, problems)
    system_packages = check_system_packages(manifest.system_packages, problems)
    problems.raise_if_any()  # the files below are only trustworthy once their checksums match
    scanned = contents.scanned.get(PICKLE, ())
    pickle_globals: tuple[PickleGlobal, ...] = scanned if isinstance(scanned, tuple) else ()
    if kind in (ONNX_KIND, IMAGE_KIND) and PICKLE in contents.files:
        problems.add(PICKLE, f"an {kind} bundle carries no pickle")
    image_reference = None
    if kind == ONNX_KIND:
        check_onnx_graph(contents.scanned.get(ONNX_FILE), manifest, rules.onnx, problems)
    elif by_reference:
        image_reference = check_image_reference(declared_reference(manifest.model_extra), problems)
        if IMAGE_FILE in contents.files:
            problems.add(IMAGE_REFERENCE_FIELD, f"names an image and {IMAGE_FILE} is one too")
    elif kind == IMAGE_KIND:
        check_image_tar(contents.scanned.get(IMAGE_FILE), problems)
    elif isinstance(scanned, str):
        problems.add(PICKLE, f"is not a pickle stream ({scanned}); write it with the SDK")
    proto = contents.kept[PROTO]
    descriptor_set = contents.kept[DESCRIPTOR_SET]
    check_descriptor_set(descriptor_set, manifest, problems)
    schemas = parse_schemas(contents.kept.get(SCHEMAS), manifest, problems)
    # A pushed image is contract-tested with inputs generated from its proto, not samples.
    pushed_image = kind == IMAGE_KIND
    warnings = check_samples(
        manifest, schemas, problems, required=rules.require_samples and not pushed_image
    )
    warnings = [] if pushed_image else warnings
    proto_text = _decode_proto(proto, problems)
    problems.raise_if_any()
    return ValidatedBundle(
        manifest=manifest,
        requirements=requirements,
        proto_text=proto_text,
        descriptor_set=descriptor_set,
        schemas=schemas,
        warnings=tuple(warnings),
        pickle_globals=pickle_globals,
        python_override=rules.supported_python[0] if kind == IMAGE_KIND else None,
        system_packages=system_packages,
        image_reference=image_reference,
    )


def _scan_or_say_why(stream: IO[bytes]) -> tuple[PickleGlobal, ...] | str:
    """The pickle's globals, or why it could not be read (reported with the other problems)."""
    try:
        return scan_pickle(stream)
    except UnreadablePickleError as exc:
        return str(exc)


def _check_files(
    manifest: Manifest,
    contents: ArchiveContents,
    problems: BundleProblems,
    required_files: tuple[str, ...],
) -> None:
    """Every listed file is present with its SHA-256, and nothing unlisted came along."""
    for required in required_files:
        if required not in manifest.files:
            problems.add("manifest.files", f"does not list {required}, which every bundle needs")
    for name, expected in sorted(manifest.files.items()):
        found = contents.files.get(name)
        if found is None:
            problems.add(f"manifest.files.{name}", "is listed but missing from the archive")
        elif found.sha256 != expected.lower():
            problems.add(
                f"manifest.files.{name}",
                f"has SHA-256 {found.sha256} in the archive, the manifest says {expected}: the "
                "file changed after the bundle was written (re-run modelbay.dump)",
            )
    for name in sorted(set(contents.files) - set(manifest.files) - {MANIFEST}):
        problems.add(
            name, "is in the archive but not listed in manifest.files, so it cannot be verified"
        )


def _refuse_solution(
    manifest: Manifest, contents: ArchiveContents, problems: BundleProblems
) -> None:
    """A solution bundle is written by onboarding after checking its nodes; one uploaded as an
    archive would carry an unchecked document that the image's server would run."""
    kind = (manifest.model_extra or {}).get("kind")
    if kind not in (None, "model", ONNX_KIND, IMAGE_KIND) or SOLUTION_FILE in contents.files:
        problems.add(
            "manifest.kind",
            "a solution is pushed as its document (POST /v1/solutions/{owner}/{name}/versions, "
            "or Session.push(Solution(...))), never as a bundle archive",
        )


def _check_python(manifest: Manifest, supported: tuple[str, ...], problems: BundleProblems) -> None:
    if manifest.python_minor not in supported:
        problems.add(
            "manifest.python",
            f"the bundle was made with Python {manifest.python}; images can be built for "
            f"Python {', '.join(supported)} only, and pickled code needs the same minor "
            "version: re-create the bundle with a supported Python",
        )


def _decode_proto(raw: bytes, problems: BundleProblems) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        problems.add(PROTO, "is not UTF-8 text")
        return ""
