"""`Model.from_onnx`: an ONNX graph as a Modelbay model with one method (docs/onnx.md).

The interface comes from the graph: every graph input (initializers excluded) becomes an n-d
array field of `<Method>In`, every output a field of `<Method>Out`, with the element type as
dtype and each dimension fixed where the graph fixes it and free (`None`) where it is symbolic
or unknown (`batch`, `N`, ...). Field names are the graph's names made into proto identifiers
(`input.1` → `input_1`); the bundle records the mapping. The method's function runs the graph
with onnxruntime in this process, which is how samples get their expected outputs.

Needs the `onnx` extra (`pip install 'modelbay[onnx]'`): `onnx` parses the file (a protobuf
parse, nothing runs), `onnxruntime` runs samples.
"""

from __future__ import annotations

import inspect
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from modelbay_runtime.onnx_model import (
    ONNX_ELEMENT_DTYPES,
    ONNX_KNOWN_DOMAINS,
    graph_runner,
    open_session,
)
from modelbay_runtime.types import ArraySpec, FieldSpec, MessageSpec

from modelbay.model import Model, ModelDefinitionError, message_base_name

DEFAULT_METHOD = "predict"
_NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]")


@dataclass(frozen=True)
class GraphTensor:
    """One graph input or output: its graph name, proto field name, dtype and shape."""

    graph_name: str
    field: str
    dtype: str
    shape: tuple[int | None, ...]


@dataclass(frozen=True)
class GraphFacts:
    """What the bundle records about the graph (manifest `onnx`)."""

    ir_version: int
    opset_import: dict[str, int]
    producer: str
    inputs: tuple[GraphTensor, ...]
    outputs: tuple[GraphTensor, ...]


class OnnxModel(Model):
    """A `Model` whose one method runs an ONNX graph; `modelbay.dump`/`Session.push` write an
    ONNX bundle (`"kind": "onnx"`, `model.onnx` instead of `model.pkl`) for it."""

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        method: str = DEFAULT_METHOD,
        samples: Sequence[Any] | None = None,
        batching: bool = True,
        description: str = "",
    ) -> None:
        self.onnx_path = Path(path)
        self.name = name or _default_name(self.onnx_path)
        self.graph = read_graph(self.onnx_path)
        function = _graph_function(self.onnx_path, self.graph, method, description)
        chosen = list(samples) if samples else [generated_sample(self.graph)]
        super().__init__(
            samples={method: chosen}, batching={method: batching}, **{method: function}
        )

    @property
    def method(self) -> str:
        return next(iter(self.methods))

    def __repr__(self) -> str:
        return f"OnnxModel({self.onnx_path.name}, method={self.method})"


def read_graph(path: Path) -> GraphFacts:
    """Parse the ONNX file (no execution) and describe its interface; ModelDefinitionError
    says what keeps it from being served (external data, custom ops, non-tensor values)."""
    try:
        import onnx
        from onnx.external_data_helper import uses_external_data
    except ImportError:
        raise ModelDefinitionError(
            "Model.from_onnx needs the onnx extra: pip install 'modelbay[onnx]'"
        ) from None
    if not path.is_file():
        raise ModelDefinitionError(f"{path} is not a file")
    try:
        proto = onnx.load_model(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends for a file that is not ONNX
        raise ModelDefinitionError(f"{path} is not an ONNX model: {exc}") from None
    if any(uses_external_data(t) for t in proto.graph.initializer):
        raise ModelDefinitionError(
            f"{path} keeps weights in external data files: save it as one file "
            "(onnx.save_model(model, path, save_as_external_data=False))"
        )
    opsets = {o.domain: int(o.version) for o in proto.opset_import}
    unknown = sorted(set(opsets) - ONNX_KNOWN_DOMAINS)
    if unknown:
        raise ModelDefinitionError(
            f"{path} uses custom operator domains {unknown}, which onnxruntime's CPU build lacks"
        )
    initialized = {t.name for t in proto.graph.initializer}
    inputs = [v for v in proto.graph.input if v.name not in initialized]
    taken: set[str] = set()
    return GraphFacts(
        ir_version=int(proto.ir_version),
        opset_import=opsets,
        producer=f"{proto.producer_name} {proto.producer_version}".strip(),
        inputs=tuple(_tensor(v, "input", taken) for v in inputs),
        outputs=tuple(_tensor(v, "output", taken) for v in proto.graph.output),
    )


def _tensor(value_info: Any, side: str, taken: set[str]) -> GraphTensor:
    where = f"graph {side} {value_info.name!r}"
    if value_info.type.WhichOneof("value") != "tensor_type":
        raise ModelDefinitionError(
            f"{where} is a {value_info.type.WhichOneof('value')}, not a tensor: export plain "
            "tensors (skl2onnx: options={'zipmap': False} for classifiers' probabilities)"
        )
    tensor = value_info.type.tensor_type
    dtype = ONNX_ELEMENT_DTYPES.get(int(tensor.elem_type))
    if dtype is None:
        raise ModelDefinitionError(
            f"{where} has element type {tensor.elem_type}, which Modelbay cannot carry "
            f"(supported: {', '.join(sorted(set(ONNX_ELEMENT_DTYPES.values())))})"
        )
    if not tensor.HasField("shape") or not tensor.shape.dim:
        raise ModelDefinitionError(
            f"{where} has no declared shape (or is a scalar): declare at least one dimension"
        )
    shape = tuple(
        int(d.dim_value) if d.WhichOneof("value") == "dim_value" and d.dim_value > 0 else None
        for d in tensor.shape.dim
    )
    return GraphTensor(value_info.name, field_name(value_info.name, taken), dtype, shape)


def field_name(graph_name: str, taken: set[str]) -> str:
    """A proto field name for a graph name, unique among `taken` (which it joins)."""
    name = _NOT_IDENTIFIER.sub("_", graph_name).strip("_") or "tensor"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"t_{name}"
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    taken.add(candidate)
    return candidate


def message_of(name: str, tensors: Sequence[GraphTensor]) -> MessageSpec:
    fields = tuple(
        FieldSpec(t.field, ArraySpec(t.dtype, t.shape), number)
        for number, t in enumerate(tensors, start=1)
    )
    return MessageSpec(name, fields, "synthetic")


def _graph_function(path: Path, graph: GraphFacts, method: str, description: str) -> Any:
    """onnxruntime's session wrapped as a typed function `Model` can check and call."""
    try:
        session = open_session(path)
    except ImportError:
        raise ModelDefinitionError(
            "Model.from_onnx needs onnxruntime to record samples: pip install 'modelbay[onnx]'"
        ) from None
    run = graph_runner(
        session,
        {t.field: t.graph_name for t in graph.inputs},
        {t.field: t.graph_name for t in graph.outputs},
    )
    output = message_of(message_base_name(method) + "Out", graph.outputs)
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(t.field, inspect.Parameter.POSITIONAL_OR_KEYWORD) for t in graph.inputs]
    )
    run.__annotations__ = {
        **{t.field: Annotated[Any, ArraySpec(t.dtype, t.shape)] for t in graph.inputs},
        "return": Annotated[dict, output],
    }
    run.__doc__ = description or f"Runs the ONNX graph of {path.name} ({graph.producer})."
    return run


def generated_sample(graph: GraphFacts) -> dict[str, Any]:
    """A deterministic input for validation: free first axes get 2 rows (so batching is
    exercised), other free axes 1; floats in [-1, 1) rounded to 3 places, ints 0/1."""
    import numpy as np

    rng = np.random.default_rng(14)
    sample: dict[str, Any] = {}
    for tensor in graph.inputs:
        shape = tuple(
            (2 if axis == 0 else 1) if size is None else size
            for axis, size in enumerate(tensor.shape)
        )
        kind = np.dtype(tensor.dtype).kind
        if kind == "f":
            values: Any = np.round(rng.uniform(-1.0, 1.0, size=shape), 3)
        elif kind == "b":
            values = rng.integers(0, 2, size=shape).astype(bool)
        else:
            values = rng.integers(0, 2, size=shape)
        sample[tensor.field] = values.tolist()
    return sample


def onnx_manifest_entry(graph: GraphFacts) -> Mapping[str, Any]:
    """The manifest's `onnx` object (docs/bundle.md)."""
    return {
        "ir_version": graph.ir_version,
        "opset_import": dict(sorted(graph.opset_import.items())),
        "producer": graph.producer,
        "inputs": {t.field: t.graph_name for t in graph.inputs},
        "outputs": {t.field: t.graph_name for t in graph.outputs},
    }


def _default_name(path: Path) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    return stem or "onnx-model"
