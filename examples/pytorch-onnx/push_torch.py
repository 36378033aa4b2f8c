"""The PyTorch model pushed as a Python model (torch in the image): the route measured once by hand.

Not the recommended route: torch from PyPI on Linux x86_64 is the CUDA build, and the image
carries its nvidia-* wheels (several GB; figures in docs/pytorch.md). Use push_onnx.py.

    python push_torch.py                 # MODELBAY_URL / MODELBAY_TOKEN as for every push
    python push_torch.py --dump DIR      # write the bundle instead; `modelbay push DIR` later
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from iris_mlp import iris_like, train_mlp
from modelbay import List, Model, Session, create_namedtuple, dump

Flowers = create_namedtuple(
    "Flowers",
    [
        ("sepal_length", List[float]),
        ("sepal_width", List[float]),
        ("petal_length", List[float]),
        ("petal_width", List[float]),
    ],
)
Species = create_namedtuple("Species", [("species", List[int]), ("probability", List[float])])

features, labels = iris_like()
net = train_mlp(features, labels)


def classify(flowers: Flowers) -> Species:
    """Species (0 setosa, 1 versicolor, 2 virginica) and its probability, per flower."""
    rows = torch.from_numpy(np.column_stack(flowers).astype(np.float32))
    with torch.no_grad():
        probabilities = torch.softmax(net(rows), dim=1)
    best = probabilities.max(dim=1)
    return Species(species=best.indices.tolist(), probability=best.values.tolist())


SAMPLE = {"sepal_length": [5.1, 6.0, 6.9], "sepal_width": [3.5, 2.7, 3.1],
          "petal_length": [1.4, 4.2, 5.7], "petal_width": [0.2, 1.3, 2.1]}  # fmt: skip

if __name__ == "__main__":
    model = Model(classify=classify, samples={"classify": [SAMPLE]})
    if sys.argv[1:2] == ["--dump"]:
        print(dump(model, "iris_torch", sys.argv[2]))
    else:
        print(Session().push(model, "iris_torch"))
