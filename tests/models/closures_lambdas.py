"""Methods built from closures and lambdas (all pickled by value)."""

import numpy as np
from modelbay import List, Model

EXPECTED = {"numpy"}


def make_scorer(weights: list[float], bias: float):
    w = np.asarray(weights)
    squash = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731 - the lambda is the point

    def score(features: List[float]) -> float:
        return float(squash(w @ np.asarray(features) + bias))

    return score


def make_labeller(threshold: float):
    above = lambda p: "yes" if p >= threshold else "no"  # noqa: E731

    def label(probabilities: List[float]) -> List[str]:
        return [above(p) for p in probabilities]

    return label


model = Model(
    score=make_scorer([0.5, -1.0, 2.0], bias=0.1),
    label=make_labeller(0.5),
    samples={
        "score": [{"features": [1.0, 2.0, 3.0]}],
        "label": [{"probabilities": [0.2, 0.5, 0.9]}],
    },
)
