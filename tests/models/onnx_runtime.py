"""A Python model that runs an ONNX graph with onnxruntime: a softmax regression on iris, trained
with numpy, written as an ONNX graph with `onnx.helper`, served by an `InferenceSession`.

The method is declared on an instance (`Model(classify=classifier.classify)`): the instance holds
the graph's bytes and makes its session on first use in each process, because a session cannot
be pickled. `onnx` only builds the graph here, so it is not a requirement of the served model.
"""

import numpy as np
import onnx
import onnxruntime
from modelbay import List, Model, NDArray
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_iris

EXPECTED = {"numpy", "onnxruntime"}


def train_softmax(x: np.ndarray, y: np.ndarray, steps: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Plain gradient descent on the cross-entropy (no framework needed for a toy-sized fit)."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    z = (x - mean) / std
    weights, bias = np.zeros((4, 3)), np.zeros(3)
    onehot = np.eye(3)[y]
    for _ in range(steps):
        logits = z @ weights + bias
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        weights -= 0.5 * z.T @ (p - onehot) / len(z)
        bias -= 0.5 * (p - onehot).mean(axis=0)
    # Fold the standardisation into the weights: the graph takes raw measurements.
    folded = weights / std[:, None]
    return folded.astype(np.float32), (bias - mean / std @ weights).astype(np.float32)


def build_graph(weights: np.ndarray, bias: np.ndarray) -> bytes:
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "weights"], ["scaled"]),
            helper.make_node("Add", ["scaled", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "iris_softmax",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3])],
        initializer=[
            numpy_helper.from_array(weights, "weights"),
            numpy_helper.from_array(bias, "bias"),
        ],
    )
    graph_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    graph_model.ir_version = 8  # readable by every onnxruntime of the last years
    onnx.checker.check_model(graph_model)
    return graph_model.SerializeToString()


class OnnxIrisClassifier:
    """Holds the ONNX graph; one onnxruntime session per process, made on first use."""

    def __init__(self, graph: bytes) -> None:
        self.graph = graph
        self._session: onnxruntime.InferenceSession | None = None

    def __getstate__(self) -> dict[str, object]:
        return {"graph": self.graph, "_session": None}  # a session does not pickle

    def _run(self, features: np.ndarray) -> np.ndarray:
        if self._session is None:
            self._session = onnxruntime.InferenceSession(
                self.graph, providers=["CPUExecutionProvider"]
            )
        (probabilities,) = self._session.run(None, {"features": features})
        return np.asarray(probabilities)

    def classify(self, features: NDArray[np.float32, (None, 4)]) -> List[int]:
        """The iris species index (0 setosa, 1 versicolor, 2 virginica) of each row."""
        return [int(i) for i in self._run(features.astype(np.float32)).argmax(axis=1)]

    def probabilities(
        self, features: NDArray[np.float32, (None, 4)]
    ) -> NDArray[np.float32, (None, 3)]:
        """The softmax probability of each species, per row."""
        return self._run(features.astype(np.float32))


iris = load_iris()
classifier = OnnxIrisClassifier(build_graph(*train_softmax(iris.data, iris.target)))

model = Model(
    classify=classifier.classify,
    probabilities=classifier.probabilities,
    samples={
        "classify": [{"features": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}],
        "probabilities": [{"features": [[5.9, 3.0, 4.2, 1.5]]}],
    },
)
