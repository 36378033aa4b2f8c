"""Checking the `model.onnx` of an ONNX bundle at upload (docs/onnx.md, "What the upload checks").

The file is streamed through `scan_onnx` in the archive's one pass and parsed with onnx's
protobuf loader: a parse, never a run, so an upload executes nothing here (onnxruntime only ever
loads it inside the build's sandbox). Then `check_onnx_graph` compares the graph with what the
manifest claims, problems named by field like every other bundle check:

- size at most `OnnxRules.max_bytes` (protobuf's own limit is 2 GiB);
- no tensor with external data (weights must travel inside the one file the bundle verifies);
- every opset domain one onnxruntime's CPU build has, `ai.onnx` within the supported range;
- one method, whose input/output fields map (manifest `onnx`) onto graph inputs/outputs of the
  same dtype and shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from modelbay_runtime.onnx_model import ONNX_ELEMENT_DTYPES, ONNX_FILE, ONNX_KNOWN_DOMAINS

from modelbay_onboarding.validation.manifest import Manifest
from modelbay_onboarding.validation.problems import BundleProblems

_CHUNK = 1 << 20


@dataclass(frozen=True)
class OnnxRules:
    min_opset: int = 7
    max_opset: int = 28
    max_bytes: int = 1 << 30


@dataclass(frozen=True)
class GraphValue:
    dtype: str | None  # None: an element type Modelbay cannot carry
    shape: tuple[int | None, ...] | None  # None: not a tensor, or no declared shape


@dataclass(frozen=True)
class OnnxGraph:
    """What the upload needs from a parsed ONNX file."""

    opsets: dict[str, int]
    node_domains: frozenset[str]
    external_tensors: tuple[str, ...]
    inputs: dict[str, GraphValue]
    outputs: dict[str, GraphValue]


def onnx_scanner(rules: OnnxRules) -> Any:
    """The archive scanner of `model.onnx`: an `OnnxGraph`, or why the file is refused."""

    def scan(stream: IO[bytes]) -> OnnxGraph | str:
        return scan_onnx(stream, rules.max_bytes)

    return scan


def scan_onnx(stream: IO[bytes], max_bytes: int) -> OnnxGraph | str:
    parts: list[bytes] = []
    size = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            return f"is larger than the {max_bytes} bytes this platform accepts for an ONNX model"
        parts.append(chunk)
    return parse_onnx(b"".join(parts))


def parse_onnx(data: bytes) -> OnnxGraph | str:
    import onnx
    from google.protobuf.message import DecodeError
    from onnx.external_data_helper import uses_external_data

    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        return f"is not an ONNX model (the protobuf does not parse: {exc})"
    graph = model.graph
    external = tuple(t.name for t in graph.initializer if uses_external_data(t))
    domains = frozenset(n.domain for n in graph.node)
    initialized = {t.name for t in graph.initializer}
    return OnnxGraph(
        opsets={o.domain: int(o.version) for o in model.opset_import},
        node_domains=domains,
        external_tensors=external,
        inputs={v.name: _value(v) for v in graph.input if v.name not in initialized},
        outputs={v.name: _value(v) for v in graph.output},
    )


def _value(value_info: Any) -> GraphValue:
    if value_info.type.WhichOneof("value") != "tensor_type":
        return GraphValue(None, None)
    tensor = value_info.type.tensor_type
    dtype = ONNX_ELEMENT_DTYPES.get(int(tensor.elem_type))
    if not tensor.HasField("shape"):
        return GraphValue(dtype, None)
    shape = tuple(
        int(d.dim_value) if d.WhichOneof("value") == "dim_value" and d.dim_value > 0 else None
        for d in tensor.shape.dim
    )
    return GraphValue(dtype, shape)


def check_onnx_graph(
    scanned: object, manifest: Manifest, rules: OnnxRules, problems: BundleProblems
) -> None:
    """Add a problem for everything that keeps the graph from being served as declared."""
    if isinstance(scanned, str):
        problems.add(ONNX_FILE, scanned)
        return
    if not isinstance(scanned, OnnxGraph):
        problems.add(ONNX_FILE, "was not found in the archive")
        return
    if scanned.external_tensors:
        names = ", ".join(scanned.external_tensors[:5])
        problems.add(
            ONNX_FILE,
            f"keeps tensors in external data files ({names}); they cannot be verified or "
            "shipped: save the model as one file (onnx.save_model(..., "
            "save_as_external_data=False))",
        )
    _check_opsets(scanned, rules, problems)
    _check_interface(scanned, manifest, problems)


def _check_opsets(graph: OnnxGraph, rules: OnnxRules, problems: BundleProblems) -> None:
    custom = sorted((set(graph.opsets) | graph.node_domains) - ONNX_KNOWN_DOMAINS)
    if custom:
        problems.add(
            ONNX_FILE,
            f"uses operators of the custom domain(s) {', '.join(custom)}; the model images "
            f"run onnxruntime's CPU build, which has only {', '.join(_domain_names())}",
        )
    opset = graph.opsets.get("", graph.opsets.get("ai.onnx"))
    if opset is None:
        problems.add(ONNX_FILE, "imports no ai.onnx operator set (opset_import)")
    elif not rules.min_opset <= opset <= rules.max_opset:
        problems.add(
            ONNX_FILE,
            f"uses ai.onnx opset {opset}; this platform serves opsets {rules.min_opset} to "
            f"{rules.max_opset}: convert it (onnx.version_converter) or export it again",
        )


def _domain_names() -> list[str]:
    return sorted(d or "ai.onnx" for d in ONNX_KNOWN_DOMAINS if d != "ai.onnx")


def _check_interface(graph: OnnxGraph, manifest: Manifest, problems: BundleProblems) -> None:
    if len(manifest.methods) != 1:
        problems.add("manifest.methods", "an ONNX bundle has exactly one method (the graph)")
        return
    method_name, method = next(iter(manifest.methods.items()))
    names = (manifest.model_extra or {}).get("onnx")
    if not isinstance(names, Mapping):
        problems.add("manifest.onnx", "is missing: it maps the fields to the graph's names")
        return
    for side, tree, values in (
        ("input", method.input_type, graph.inputs),
        ("output", method.output_type, graph.outputs),
    ):
        mapping = names.get(f"{side}s")
        where = f"manifest.methods.{method_name}.{side}_type"
        if not isinstance(mapping, Mapping):
            problems.add(f"manifest.onnx.{side}s", "is missing or not an object")
            continue
        fields = {f.get("name"): f.get("type", {}) for f in tree.get("fields", [])}
        if set(fields) != set(mapping):
            problems.add(
                where, f"has fields {sorted(fields)}, manifest.onnx names {sorted(mapping)}"
            )
            continue
        if set(mapping.values()) != set(values):
            problems.add(
                f"manifest.onnx.{side}s",
                f"names graph {side}s {sorted(mapping.values())}, the graph has {sorted(values)}",
            )
            continue
        for field, graph_name in mapping.items():
            _check_value(f"{where}.{field}", fields[field], values[graph_name], problems)


def _check_value(
    where: str, declared: Mapping[str, Any], value: GraphValue, problems: BundleProblems
) -> None:
    if value.dtype is None or value.shape is None:
        problems.add(where, "the graph's value is not a tensor of a supported type and shape")
        return
    shape = [None if d is None else int(d) for d in declared.get("shape", [])]
    if declared.get("kind") != "array" or declared.get("dtype") != value.dtype:
        problems.add(where, f"is declared {declared.get('dtype')!r}, the graph has {value.dtype}")
    elif shape != list(value.shape):
        problems.add(where, f"is declared with shape {shape}, the graph has {list(value.shape)}")
