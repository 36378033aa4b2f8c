"""Writing the bundle of an `OnnxModel` (`"kind": "onnx"`, docs/bundle.md#onnx-bundles).

Same layout, checksums and archive as a Python bundle, with `model.onnx` (the contributor's
file, byte for byte) instead of `model.pkl` and no `code/`. Requirements are not inferred:
serving a graph needs onnxruntime and numpy, pinned to the versions that recorded the samples.
"""

from __future__ import annotations

import platform
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from modelbay_runtime.loader import DESCRIPTOR_SET, MANIFEST, PROTO, SCHEMAS, SUPPORTED_SPEC
from modelbay_runtime.loader_specs import spec_to_json
from modelbay_runtime.onnx_model import ONNX_FILE, ONNX_KIND

from modelbay.bundle import (
    BundleError,
    _check_target,
    _write_json,
    check_name,
    file_checksums,
    record_samples,
)
from modelbay.interface import Interface, build_interface
from modelbay.onnx_model import OnnxModel, onnx_manifest_entry

SERVING_DISTRIBUTIONS = ("numpy", "onnxruntime")


def dump_onnx(
    model: OnnxModel,
    name: str,
    path: str | Path,
    *,
    description: str | None = None,
    license: str | None = None,
    tags: Sequence[str] | None = None,
    replace: bool = False,
) -> Path:
    """Write the ONNX bundle of `model` into the directory `path`; returns the directory."""
    check_name(name)
    target = Path(path)
    _check_target(target, replace=replace)
    interface = build_interface(model, name)
    samples = record_samples(model)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent.resolve()))
    try:
        shutil.copyfile(model.onnx_path, staging / ONNX_FILE)
        (staging / PROTO).write_text(interface.proto_text, encoding="utf-8")
        (staging / DESCRIPTOR_SET).write_bytes(interface.descriptor_set)
        _write_json(
            staging / SCHEMAS,
            {
                method: {"input": m.input_schema, "output": m.output_schema}
                for method, m in interface.methods.items()
            },
        )
        manifest = _manifest(name, model, interface, samples)
        extra = {"description": description, "license": license, "tags": list(tags or [])}
        manifest.update({k: v for k, v in extra.items() if v not in (None, [])})
        manifest["files"] = file_checksums(staging)
        _write_json(staging / MANIFEST, manifest)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _manifest(
    name: str, model: OnnxModel, interface: Interface, samples: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    pins = {dist: _installed(dist) for dist in SERVING_DISTRIBUTIONS}
    return {
        "spec": SUPPORTED_SPEC,
        "kind": ONNX_KIND,
        "name": name,
        "created_at": datetime.now(timezone.utc)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z"),
        # The image's Python: nothing is pickled, but the resolver downloads wheels for it.
        "python": platform.python_version(),
        "sdk_version": _installed("modelbay", "unknown"),
        "proto_package": interface.package,
        "methods": {
            method_name: {
                "description": method.description,
                "input_message": interface.methods[method_name].input_message,
                "output_message": interface.methods[method_name].output_message,
                "wrapped_input": True,
                "wrapped_output": False,
                "batchable": method.batchable,
                "input_type": spec_to_json(method.input_spec),
                "output_type": spec_to_json(method.output_spec),
            }
            for method_name, method in model.methods.items()
        },
        "requirements": [f"{dist}=={pin}" for dist, pin in pins.items()],
        "requirement_reasons": {dist: ["serves the ONNX graph"] for dist in pins},
        "dropped_requirements": [],
        "local_modules": [],
        "unresolved_imports": [],
        "samples": samples,
        "onnx": dict(onnx_manifest_entry(model.graph)),
    }


def _installed(distribution: str, default: str | None = None) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        if default is not None:
            return default
        raise BundleError(
            f"{distribution} is not installed: an ONNX bundle pins the {distribution} that "
            "recorded its samples (pip install 'modelbay[onnx]')"
        ) from None
