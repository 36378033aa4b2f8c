"""Bundles (docs/bundle.md): `dump` writes the directory, `write_archive` the pushed archive.

A bundle directory holds `manifest.json`, `model.proto`, `model.descriptor.pb`, `schemas.json`,
`model.pkl` (cloudpickle of a plain `{method: function}` dict) and `code/` (the contributor's
local modules). The archive is a deterministic `.tar.gz` of the same files: equal directories
give byte-identical archives, so the platform's content addressing deduplicates re-pushes.
"""

from __future__ import annotations

import base64
import gzip
import json
import platform
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

from modelbay_runtime.files import bundle_files
from modelbay_runtime.loader import (
    CODE_DIR,
    DESCRIPTOR_SET,
    MANIFEST,
    PICKLE,
    PROTO,
    SCHEMAS,
    SUPPORTED_SPEC,
    sha256_of,
)
from modelbay_runtime.loader_specs import spec_to_json

from modelbay.deps import Inference, InferenceOptions, infer
from modelbay.interface import Interface, build_interface
from modelbay.model import Model

ARCHIVE_MEDIA_TYPE = "application/gzip"
ARCHIVE_SUFFIX = ".tar.gz"
# Names end up in URLs (/v1/models/{owner}/{name}) and image names (<registry>/<owner>/<name>),
# so they follow the OCI repository-component grammar.
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
MAX_NAME_LENGTH = 64


class BundleError(ValueError):
    """A bundle cannot be written or read (bad name, existing directory, bad archive)."""


def check_name(name: str) -> str:
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.match(name):
        raise BundleError(
            f"model name {name!r} is not valid: use 1-{MAX_NAME_LENGTH} lowercase letters, "
            "digits and single '.', '_' or '-' between them (e.g. 'iris_model')"
        )
    return name


def dump(
    model: Model,
    name: str,
    path: str | Path,
    *,
    requirements: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    local_files: Sequence[str | Path] | None = None,
    local_modules: Sequence[str] | None = None,
    description: str | None = None,
    license: str | None = None,
    tags: Sequence[str] | None = None,
    replace: bool = False,
) -> Path:
    """Write the bundle of `model` into the directory `path` (created; must be empty or absent
    unless `replace`). Infers and pins the requirements, runs every sample to record its
    output, and returns the directory. An `OnnxModel` (`Model.from_onnx`) is written as an ONNX
    bundle, whose requirements are not inferred (onnx_bundle.py)."""
    from modelbay.onnx_model import OnnxModel

    if isinstance(model, OnnxModel):
        from modelbay.onnx_bundle import dump_onnx

        return dump_onnx(
            model, name, path, description=description, license=license, tags=tags, replace=replace
        )
    check_name(name)
    target = Path(path)
    _check_target(target, replace=replace)
    options = InferenceOptions(
        requirements=tuple(requirements or ()),
        exclude=tuple(exclude or ()),
        local_files=tuple(local_files or ()),
        local_modules=tuple(local_modules or ()),
    )
    methods = {method_name: m.function for method_name, m in model.methods.items()}
    inference = infer(methods, options)
    interface = build_interface(model, name)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent.resolve()))
    try:
        _write_files(staging, inference, interface)
        # The samples run against the files being shipped, as they will in the image: a data
        # file the model reads with modelbay.local_file but did not list fails here.
        with bundle_files(staging / CODE_DIR):
            samples = record_samples(model)
        extra = {"description": description, "license": license, "tags": list(tags or [])}
        manifest = build_manifest(name, model, inference, interface, samples, extra)
        manifest["files"] = file_checksums(staging)
        _write_json(staging / MANIFEST, manifest)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _check_target(target: Path, *, replace: bool) -> None:
    if target.exists() and not target.is_dir():
        raise BundleError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not replace:
        raise BundleError(f"{target} is not empty; pass replace=True to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)


def record_samples(model: Model) -> dict[str, list[dict[str, Any]]]:
    """Run every sample input through its method now; store input and output as JSON."""
    recorded: dict[str, list[dict[str, Any]]] = {}
    for method_name, inputs in model.samples.items():
        if not inputs:
            continue
        recorded[method_name] = [
            {
                "input": to_json_text_safe(i),
                "output": to_json_text_safe(model.run_sample(method_name, i)),
            }
            for i in inputs
        ]
    return recorded


def to_json_text_safe(value: Any) -> Any:
    """Natural JSON with `bytes` as base64 text (the codec leaves bytes to the caller)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): to_json_text_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_text_safe(v) for v in value]
    return value


def _write_files(root: Path, inference: Inference, interface: Interface) -> None:
    (root / PICKLE).write_bytes(inference.pickle)
    (root / PROTO).write_text(interface.proto_text, encoding="utf-8")
    (root / DESCRIPTOR_SET).write_bytes(interface.descriptor_set)
    schemas = {
        name: {"input": method.input_schema, "output": method.output_schema}
        for name, method in interface.methods.items()
    }
    _write_json(root / SCHEMAS, schemas)
    for local in inference.local_modules:
        for relative, source in local.bundle_paths().items():
            _copy(source, root / CODE_DIR / relative)
    for relative, source in inference.data_files.items():
        _copy(source, root / CODE_DIR / relative)


def _copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)


def build_manifest(
    name: str,
    model: Model,
    inference: Inference,
    interface: Interface,
    samples: Mapping[str, list[dict[str, Any]]],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "spec": SUPPORTED_SPEC,
        "name": name,
        "created_at": datetime.now(timezone.utc)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z"),
        "python": platform.python_version(),
        "sdk_version": _sdk_version(),
        "proto_package": interface.package,
        "methods": {
            method_name: {
                "description": method.description,
                "input_message": interface.methods[method_name].input_message,
                "output_message": interface.methods[method_name].output_message,
                "wrapped_input": method.wrapped_input,
                "wrapped_output": method.wrapped_output,
                "batchable": method.batchable,
                "input_type": spec_to_json(method.input_spec),
                "output_type": spec_to_json(method.output_spec),
            }
            for method_name, method in model.methods.items()
        },
        "requirements": [r.pip for r in inference.requirements],
        "requirement_reasons": {r.name: list(r.reasons) for r in inference.requirements},
        "dropped_requirements": [{"name": d.name, "reason": d.reason} for d in inference.dropped],
        "local_modules": [
            {
                "name": m.name,
                "reason": m.reason,
                "files": sorted(f"{CODE_DIR}/{p}" for p in m.bundle_paths()),
            }
            for m in inference.local_modules
        ],
        "unresolved_imports": [
            {"module": u.module, "found": u.found} for u in inference.unresolved_imports
        ],
        "samples": dict(samples),
    }
    manifest.update({k: v for k, v in extra.items() if v not in (None, [])})
    # Debian packages the contributor declared; absent from older pickles' models.
    system_packages = list(getattr(model, "system_packages", ()))
    if system_packages:
        manifest["system_packages"] = system_packages
    return manifest


def _sdk_version() -> str:
    try:
        return version("modelbay")
    except PackageNotFoundError:
        return "unknown"


def file_checksums(root: Path) -> dict[str, str]:
    """`relative/posix/path` → sha256 of every file except the manifest itself."""
    return {
        path.relative_to(root).as_posix(): sha256_of(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.relative_to(root).as_posix() != MANIFEST
    }


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=False) + "\n", encoding="utf-8")


# --- archive ----------------------------------------------------------------------------------


def write_archive(bundle_dir: str | Path, stream: IO[bytes], *, compresslevel: int = 9) -> None:
    """Write the deterministic `.tar.gz` of a bundle directory to a binary stream.

    Determinism: files in sorted order, no directory entries, mtime 0, uid/gid 0, no user or
    group names, mode 0644, and a gzip header without name or timestamp. `compresslevel` 1 is
    for bundles of already large, poorly compressible payloads (a saved image: prebuilt.py)."""
    root = Path(bundle_dir)
    if not (root / MANIFEST).is_file():
        raise BundleError(f"{root} is not a bundle directory ({MANIFEST} is missing)")
    with (
        gzip.GzipFile(
            filename="", mode="wb", fileobj=stream, mtime=0, compresslevel=compresslevel
        ) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in _bundle_files(root):
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            info.size = path.stat().st_size
            info.mode = 0o644
            info.mtime = 0
            with path.open("rb") as content:
                tar.addfile(info, content)


def _bundle_files(root: Path) -> Iterable[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file())


def archive_to_file(bundle_dir: str | Path, destination: str | Path) -> Path:
    destination = Path(destination)
    with destination.open("wb") as stream:
        write_archive(bundle_dir, stream)
    return destination


def extract_archive(archive: str | Path, destination: str | Path) -> Path:
    """Unpack a bundle archive safely (no absolute paths, links or devices)."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            tar.extractall(destination, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleError(f"{archive} is not a valid bundle archive: {exc}") from exc
    if not (destination / MANIFEST).is_file():
        raise BundleError(f"{archive} has no {MANIFEST} at its root")
    return destination


def read_archive_manifest(archive: str | Path) -> dict[str, Any]:
    """The manifest of a bundle archive, read without unpacking the rest."""
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest = json.loads(member.read())
    except (tarfile.TarError, OSError, EOFError, KeyError, ValueError) as exc:
        raise BundleError(f"{archive} is not a bundle archive with a {MANIFEST}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise BundleError(f"{archive}: {MANIFEST} is not a JSON object")
    return manifest
