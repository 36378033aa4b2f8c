"""A CatBoost classifier on iris with a categorical feature (CatBoost's own strength)."""

from typing import NamedTuple

import numpy as np
from catboost import CatBoostClassifier, Pool
from modelbay import List, Model
from sklearn.datasets import load_iris

EXPECTED = {"catboost", "numpy"}

iris = load_iris()
# A categorical column CatBoost encodes itself: the garden each flower was measured in.
gardens = np.where(iris.data[:, 0] > 5.8, "north", "south")
train = Pool(
    [[*row, garden] for row, garden in zip(iris.data.tolist(), gardens, strict=True)],
    label=iris.target,
    cat_features=[4],
)
classifier = CatBoostClassifier(
    iterations=30, depth=3, random_seed=0, verbose=False, allow_writing_files=False
)
classifier.fit(train)


class Flowers(NamedTuple):
    sepal_length: List[float]
    sepal_width: List[float]
    petal_length: List[float]
    petal_width: List[float]
    garden: List[str]


def classify(flowers: Flowers) -> List[int]:
    rows = [list(row) for row in zip(*flowers, strict=True)]
    pool = Pool(rows, cat_features=[4])
    return [int(label) for label in np.ravel(classifier.predict(pool))]


model = Model(
    classify=classify,
    samples={
        "classify": [
            {
                "sepal_length": [5.1, 6.7],
                "sepal_width": [3.5, 3.0],
                "petal_length": [1.4, 5.2],
                "petal_width": [0.2, 2.3],
                "garden": ["south", "north"],
            }
        ]
    },
)
