"""Serving an ONNX bundle (`"kind": "onnx"`, docs/onnx.md) with onnxruntime on the CPU.

An ONNX bundle has `model.onnx` where a Python bundle has `model.pkl`: nothing is unpickled.
Each graph input is a field of the method's input message and each graph output a field of its
output message, all n-d arrays (`ArraySpec`); the manifest's `onnx` entry maps those proto field
names back to the graph's own names (which may be anything, `input.1` included). The specs are
read from the manifest's JSON type trees, so the loader needs no SDK and no annotations; the
codec then checks dtypes and fixed dimensions before onnxruntime sees a request.

onnxruntime is imported only when an ONNX bundle is loaded: it is a requirement of such bundles
(pinned by the resolver), never of the runtime core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from modelbay_runtime._codec_errors import InputError
from modelbay_runtime.codec import make_json_caller
from modelbay_runtime.types import ArraySpec, FieldSpec, MessageSpec

ONNX_KIND = "onnx"
ONNX_FILE = "model.onnx"
# Exceptions onnxruntime raises for a request that does not fit the graph (a shape the codec
# could not check, such as two inputs sharing a symbolic batch dimension): the caller's fault.
_CALLER_FAULTS = ("InvalidArgument", "InvalidGraph")


class OnnxBundleError(ValueError):
    """The manifest's ONNX entry or type trees do not describe a servable graph."""


def array_message_from_json(tree: Mapping[str, Any], where: str) -> MessageSpec:
    """Rebuild a message-of-arrays spec from its manifest JSON (`spec_to_json`'s output)."""
    if tree.get("kind") != "message" or not isinstance(tree.get("fields"), list):
        raise OnnxBundleError(f"{where}: an ONNX method's message must list its fields")
    fields = []
    for entry in tree["fields"]:
        field_type = entry.get("type", {}) if isinstance(entry, Mapping) else {}
        if field_type.get("kind") != "array":
            raise OnnxBundleError(f"{where}.{entry!r}: ONNX fields are arrays")
        shape = tuple(None if d is None else int(d) for d in field_type.get("shape", ()))
        if not shape:
            raise OnnxBundleError(f"{where}.{entry['name']}: an array needs a dimension")
        fields.append(
            FieldSpec(
                str(entry["name"]), ArraySpec(str(field_type["dtype"]), shape), entry["number"]
            )
        )
    return MessageSpec(str(tree["name"]), tuple(fields), "synthetic")


def graph_names(manifest: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The manifest's field → graph name maps of the inputs and of the outputs."""
    entry = manifest.get("onnx")
    if not isinstance(entry, Mapping):
        raise OnnxBundleError("manifest.onnx is missing: it maps fields to the graph's names")
    inputs, outputs = entry.get("inputs"), entry.get("outputs")
    if not isinstance(inputs, Mapping) or not isinstance(outputs, Mapping):
        raise OnnxBundleError("manifest.onnx needs 'inputs' and 'outputs' maps")
    return {str(k): str(v) for k, v in inputs.items()}, {str(k): str(v) for k, v in outputs.items()}


def open_session(model_path: Path, *, threads: int = 1) -> Any:
    """An onnxruntime CPU session. One intra-op thread by default: the model server scales by
    workers and batching, and ORT's own pool would fight them for the same cores."""
    import onnxruntime  # type: ignore[import-untyped]  # ships no type information

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def graph_runner(
    session: Any, inputs: Mapping[str, str], outputs: Mapping[str, str]
) -> Callable[..., dict[str, Any]]:
    """The method's function: field-named arrays in, field-named arrays out."""
    output_fields = list(outputs)
    output_names = [outputs[f] for f in output_fields]
    feeds_of = list(inputs.items())

    def run(**arrays: Any) -> dict[str, Any]:
        feeds = {graph_name: arrays[field] for field, graph_name in feeds_of}
        try:
            results = session.run(output_names, feeds)
        except Exception as exc:
            if type(exc).__name__ in _CALLER_FAULTS:
                raise InputError("", f"the ONNX graph refused the input: {exc}") from exc
            raise
        return dict(zip(output_fields, results, strict=True))

    return run


def onnx_method_parts(
    root: Path, manifest: Mapping[str, Any], method: str
) -> tuple[MessageSpec, MessageSpec, Callable[..., dict[str, Any]], Callable[..., dict[str, Any]]]:
    """Input spec, output spec, the graph function and its natural-JSON caller of `method`."""
    entry = manifest["methods"][method]
    input_spec = array_message_from_json(entry["input_type"], f"manifest.methods.{method}.input")
    output_spec = array_message_from_json(entry["output_type"], f"manifest.methods.{method}.output")
    inputs, outputs = graph_names(manifest)
    if set(inputs) != set(input_spec.field_names) or set(outputs) != set(output_spec.field_names):
        raise OnnxBundleError(
            f"manifest.onnx names fields other than method {method!r}'s input/output messages"
        )
    function = graph_runner(open_session(root / ONNX_FILE), inputs, outputs)
    caller = make_json_caller(
        function, input_spec, output_spec, wrapped_input=True, wrapped_output=False
    )
    return input_spec, output_spec, function, caller


# ONNX TensorProto element types → numpy dtype names the type system carries (`ArraySpec`).
# Strings, complex numbers and the 8-bit/4-bit float formats have no proto3 scalar here.
ONNX_ELEMENT_DTYPES: dict[int, str] = {
    1: "float32",
    2: "uint8",
    3: "int8",
    4: "uint16",
    5: "int16",
    6: "int32",
    7: "int64",
    9: "bool",
    10: "float16",
    11: "float64",
    12: "uint32",
    13: "uint64",
}
# The operator-set domains whose kernels onnxruntime's CPU build has; any other domain is a
# custom op library the image would not have.
ONNX_KNOWN_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})
