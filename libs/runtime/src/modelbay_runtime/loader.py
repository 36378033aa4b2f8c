"""Loading a Modelbay bundle (docs/bundle.md) into callable methods: what the server serves.

Runtime core only (cloudpickle, protobuf, stdlib): a model image never needs the SDK. Every
file is checked against the manifest's SHA-256 before anything is unpickled, and the bundle's
`code/` directory (the contributor's local modules) goes on `sys.path` first so the pickle's
references to those modules resolve.

    python -m modelbay_runtime check BUNDLE_DIR   # run every sample, exit 0/1 (loader_check.py)
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle

from modelbay_runtime.codec import make_json_caller
from modelbay_runtime.files import use_bundle_files
from modelbay_runtime.loader_specs import input_spec_of, output_spec_of, spec_to_json
from modelbay_runtime.onnx_model import ONNX_FILE, ONNX_KIND, OnnxBundleError, onnx_method_parts
from modelbay_runtime.types import MessageSpec

SUPPORTED_SPEC = "1"
MANIFEST = "manifest.json"
PICKLE = "model.pkl"
PROTO = "model.proto"
DESCRIPTOR_SET = "model.descriptor.pb"
SCHEMAS = "schemas.json"
CODE_DIR = "code"


class BundleError(ValueError):
    """The bundle is malformed, tampered with, or cannot be loaded in this environment."""


@dataclass(frozen=True)
class LoadedMethod:
    name: str
    description: str
    input_message: str  # fully qualified proto name
    output_message: str
    input_spec: MessageSpec
    output_spec: MessageSpec
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    batchable: bool
    function: Callable[..., Any]
    wrapped_input: bool
    wrapped_output: bool
    _caller: Callable[[Mapping[str, Any]], dict[str, Any]] = field(repr=False, compare=False)

    def call(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Natural-JSON dict in (proto field names), natural-JSON-ready dict out.

        Raises codec.InputError for bad input; anything else is the model's own failure."""
        return self._caller(payload)


@dataclass(frozen=True)
class LoadedModel:
    name: str
    manifest: dict[str, Any]
    proto_text: str
    descriptor_set: bytes
    methods: dict[str, LoadedMethod]
    path: Path


def load_bundle(path: str | Path) -> LoadedModel:
    """Verify, unpickle and wire up the bundle directory at `path`."""
    root = Path(path)
    manifest = read_manifest(root)
    if manifest.get("kind") == ONNX_KIND:
        return _load_onnx_bundle(root, manifest)
    if manifest.get("kind") == "image":  # docs/prebuilt-images.md
        raise BundleError(
            "this bundle is a pre-built image: it runs as that image, not in a model server "
            "(a platform without a Docker engine cannot serve it)"
        )
    verify_checksums(root, manifest)
    _check_python(manifest)
    _put_code_on_path(root)
    functions = _unpickle(root)
    schemas = _read_json(root / SCHEMAS) if (root / SCHEMAS).exists() else {}
    methods = {
        name: _load_method(name, entry, functions, schemas.get(name, {}))
        for name, entry in manifest["methods"].items()
    }
    return LoadedModel(
        name=manifest["name"],
        manifest=manifest,
        proto_text=(root / PROTO).read_text(encoding="utf-8"),
        descriptor_set=(root / DESCRIPTOR_SET).read_bytes(),
        methods=methods,
        path=root,
    )


def read_manifest(root: Path) -> dict[str, Any]:
    if not (root / MANIFEST).is_file():
        raise BundleError(f"{root} is not a bundle: {MANIFEST} is missing")
    manifest = _read_json(root / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("spec") != SUPPORTED_SPEC:
        found = manifest.get("spec") if isinstance(manifest, dict) else None
        raise BundleError(
            f"unsupported bundle spec {found!r} (this runtime reads {SUPPORTED_SPEC!r})"
        )
    for key in ("name", "methods", "files"):
        if key not in manifest:
            raise BundleError(f"{MANIFEST} has no {key!r}")
    return manifest


def verify_checksums(
    root: Path, manifest: Mapping[str, Any], required_files: tuple[str, ...] | None = None
) -> None:
    """Every file listed in the manifest exists and has its recorded SHA-256."""
    files: Mapping[str, str] = manifest["files"]
    if required_files is None:
        kind_file = ONNX_FILE if manifest.get("kind") == ONNX_KIND else PICKLE
        required_files = (kind_file, PROTO, DESCRIPTOR_SET)
    for required in required_files:
        if required not in files:
            raise BundleError(f"{MANIFEST} does not list {required}")
    for relative, expected in files.items():
        target = (root / relative).resolve()
        if not target.is_relative_to(root.resolve()):
            raise BundleError(f"{MANIFEST} lists {relative!r}, outside the bundle")
        if not target.is_file():
            raise BundleError(f"{relative} is listed in {MANIFEST} but missing")
        actual = sha256_of(target)
        if actual != expected:
            raise BundleError(
                f"{relative}: sha256 {actual} does not match the manifest ({expected})"
            )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_python(manifest: Mapping[str, Any]) -> None:
    # Functions pickled by value carry bytecode, which only the same minor version can run.
    made_with = str(manifest.get("python", ""))
    here = platform.python_version()
    if made_with.split(".")[:2] != here.split(".")[:2]:
        raise BundleError(
            f"the bundle was made with Python {made_with}, this is {here}: "
            "the pickled code needs the same major.minor version"
        )


def _put_code_on_path(root: Path) -> None:
    code = str((root / CODE_DIR).resolve())
    if (root / CODE_DIR).is_dir() and code not in sys.path:
        sys.path.insert(0, code)
    use_bundle_files(root / CODE_DIR)  # modelbay.local_file names resolve here


def _unpickle(root: Path) -> dict[str, Callable[..., Any]]:
    try:
        functions = cloudpickle.loads((root / PICKLE).read_bytes())
    except ModuleNotFoundError as exc:
        raise BundleError(
            f"{PICKLE} needs module {exc.name!r}, which is not installed here: "
            "is it missing from the bundle's requirements?"
        ) from exc
    if not isinstance(functions, dict) or not all(callable(f) for f in functions.values()):
        raise BundleError(f"{PICKLE} must hold a dict of method name → function")
    return functions


def _load_method(
    name: str,
    entry: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]],
    schemas: Mapping[str, Any],
) -> LoadedMethod:
    function = functions.get(name)
    if function is None:
        raise BundleError(f"method {name!r} is in the manifest but not in {PICKLE}")
    wrapped_input, wrapped_output = bool(entry["wrapped_input"]), bool(entry["wrapped_output"])
    input_spec = input_spec_of(
        function, wrapped=wrapped_input, message_name=_spec_name(entry, "input")
    )
    output_spec = output_spec_of(
        function, wrapped=wrapped_output, message_name=_spec_name(entry, "output")
    )
    _check_same(name, "input", input_spec, entry.get("input_type"))
    _check_same(name, "output", output_spec, entry.get("output_type"))
    caller = make_json_caller(
        function,
        input_spec,
        output_spec,
        wrapped_input=wrapped_input,
        wrapped_output=wrapped_output,
    )
    return _method(
        name,
        entry,
        schemas,
        (input_spec, output_spec),
        function,
        caller,
        wrapped=(wrapped_input, wrapped_output),
    )


def _method(
    name: str,
    entry: Mapping[str, Any],
    schemas: Mapping[str, Any],
    specs: tuple[MessageSpec, MessageSpec],
    function: Callable[..., Any],
    caller: Callable[[Mapping[str, Any]], dict[str, Any]],
    *,
    wrapped: tuple[bool, bool],
) -> LoadedMethod:
    """One method as the manifest describes it, around the parts that make it callable (a
    pickled function or an ONNX session); `schemas` are this method's input/output schemas."""
    return LoadedMethod(
        name=name,
        description=str(entry.get("description", "")),
        input_message=str(entry["input_message"]),
        output_message=str(entry["output_message"]),
        input_spec=specs[0],
        output_spec=specs[1],
        input_schema=dict(schemas.get("input", {})),
        output_schema=dict(schemas.get("output", {})),
        batchable=bool(entry.get("batchable", False)),
        function=function,
        wrapped_input=wrapped[0],
        wrapped_output=wrapped[1],
        _caller=caller,
    )


def _load_onnx_bundle(root: Path, manifest: dict[str, Any]) -> LoadedModel:
    """An ONNX bundle (onnx_model.py): checksums, then one onnxruntime session per method."""
    verify_checksums(root, manifest)
    schemas = _read_json(root / SCHEMAS) if (root / SCHEMAS).exists() else {}
    methods = {}
    for name, entry in manifest["methods"].items():
        try:
            input_spec, output_spec, function, caller = onnx_method_parts(root, manifest, name)
        except (OnnxBundleError, KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"method {name!r} of the ONNX bundle: {exc}") from exc
        methods[name] = _method(
            name,
            entry,
            schemas.get(name, {}),
            (input_spec, output_spec),
            function,
            caller,
            wrapped=(True, False),
        )
    return LoadedModel(
        name=manifest["name"],
        manifest=manifest,
        proto_text=(root / PROTO).read_text(encoding="utf-8"),
        descriptor_set=(root / DESCRIPTOR_SET).read_bytes(),
        methods=methods,
        path=root,
    )


def _check_same(method: str, side: str, rebuilt: MessageSpec, recorded: Any) -> None:
    if recorded is not None and spec_to_json(rebuilt) != recorded:
        raise BundleError(
            f"method {method!r}: the {side} type rebuilt from the pickle differs "
            "from the manifest's (SDK and runtime versions disagree?)"
        )


def _spec_name(entry: Mapping[str, Any], side: str) -> str:
    """Name of a generated (`<Method>In`) message: the spec's own, else the proto name's tail."""
    recorded = entry.get(f"{side}_type")
    if isinstance(recorded, dict) and isinstance(recorded.get("name"), str):
        return str(recorded["name"])
    return str(entry[f"{side}_message"]).rpartition(".")[2]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path.name} cannot be read as JSON: {exc}") from exc
