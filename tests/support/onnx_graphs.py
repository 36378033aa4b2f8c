"""Small ONNX graphs made with `onnx.helper`, for every tier's ONNX tests (no download).

`linear_scorer` is a real model: scores = sigmoid(features @ W + b) and a second output, the
argmax class, with a symbolic batch axis. The others are the broken files the upload must refuse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WEIGHTS = np.array(
    [[0.5, -1.25, 0.75], [1.0, 0.25, -0.5], [-0.75, 0.5, 1.5], [0.2, -0.3, 0.1]],
    dtype=np.float32,
)
BIAS = np.array([0.1, -0.2, 0.05], dtype=np.float32)


def linear_scorer(opset: int = 17, *, input_name: str = "features.in") -> onnx.ModelProto:
    """float32[batch, 4] → scores float32[batch, 3], label int64[batch]."""
    nodes = [
        helper.make_node("MatMul", [input_name, "W"], ["xw"]),
        helper.make_node("Add", ["xw", "B"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["scores"]),
        helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "linear_scorer",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", 4])],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
        ],
        initializer=[
            numpy_helper.from_array(WEIGHTS, "W"),
            numpy_helper.from_array(BIAS, "B"),
        ],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="modelbay-tests"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save_model(model, str(path))
    return path


def with_custom_domain() -> onnx.ModelProto:
    """A node of a custom-op domain onnxruntime's CPU build does not have."""
    model = linear_scorer()
    model.opset_import.append(helper.make_opsetid("com.example.secret", 1))
    model.graph.node[2].domain = "com.example.secret"
    model.graph.node[2].op_type = "SecretSigmoid"
    return model


def with_external_data(directory: Path) -> Path:
    """The weights saved beside the graph in an external data file."""
    path = directory / "external.onnx"
    onnx.save_model(
        linear_scorer(),
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    return path


def with_opset(opset: int) -> onnx.ModelProto:
    """The scorer claiming another opset (unchecked, for the range check)."""
    model = linear_scorer()
    model.opset_import[0].version = opset
    return model


def in_process_outputs(model_path: Path, features: np.ndarray) -> dict[str, np.ndarray]:
    """What onnxruntime itself answers, to compare the served numbers with."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    scores, label = session.run(["scores", "label"], {"features.in": features})
    return {"scores": scores, "label": label}


def two_inputs_sum() -> onnx.ModelProto:
    """a float32[batch, 2] + b float32[batch, 2] → total: two inputs on one symbolic axis."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["total"])],
        "two_inputs_sum",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 2]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 2]),
        ],
        [helper.make_tensor_value_info("total", TensorProto.FLOAT, ["batch", 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model
