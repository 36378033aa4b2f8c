"""An xgboost classifier on iris (its scikit-learn API, so scikit-learn is needed to load it)."""

import numpy as np
from modelbay import List, Model, create_namedtuple
from sklearn.datasets import load_iris
from xgboost import XGBClassifier

EXPECTED = {"numpy", "scikit-learn", "xgboost-cpu"}

iris = load_iris()
classifier = XGBClassifier(n_estimators=10, max_depth=3, random_state=0)
classifier.fit(iris.data, iris.target)

Flowers = create_namedtuple(
    "Flowers",
    [
        ("sepal_length", List[float]),
        ("sepal_width", List[float]),
        ("petal_length", List[float]),
        ("petal_width", List[float]),
    ],
)


def predict(flowers: Flowers) -> List[int]:
    return [int(c) for c in classifier.predict(np.column_stack(flowers))]


model = Model(
    predict=predict,
    samples={
        "predict": [
            {
                "sepal_length": [5.1, 6.7],
                "sepal_width": [3.5, 3.0],
                "petal_length": [1.4, 5.2],
                "petal_width": [0.2, 2.3],
            }
        ]
    },
)
