"""Nested NamedTuple output with an Enum, from a scikit-learn classifier."""

from enum import Enum
from typing import NamedTuple

from modelbay import List, Model
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

EXPECTED = {"scikit-learn"}

iris = load_iris()
tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(iris.data, iris.target)


class Species(Enum):
    SETOSA = 0
    VERSICOLOR = 1
    VIRGINICA = 2


class Flower(NamedTuple):
    sepal_length: float
    sepal_width: float
    petal_length: float
    petal_width: float


class Guess(NamedTuple):
    species: Species
    confidence: float


class Report(NamedTuple):
    guesses: List[Guess]
    count: int


def identify(flowers: List[Flower]) -> Report:
    probabilities = tree.predict_proba([list(f) for f in flowers])
    guesses = [Guess(Species(int(p.argmax())), float(p.max())) for p in probabilities]
    return Report(guesses=guesses, count=len(guesses))


model = Model(
    identify=identify,
    samples={
        "identify": [
            {
                "flowers": [
                    {
                        "sepal_length": 5.1,
                        "sepal_width": 3.5,
                        "petal_length": 1.4,
                        "petal_width": 0.2,
                    },
                    {
                        "sepal_length": 6.7,
                        "sepal_width": 3.0,
                        "petal_length": 5.2,
                        "petal_width": 2.3,
                    },
                ]
            }
        ]
    },
)
