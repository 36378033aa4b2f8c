"""A model defined as a class with `__call__`: the instance is the method (its state travels in
the pickle), a second method is declared on the same instance."""

from __future__ import annotations

import numpy as np
from modelbay import List, Model
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

EXPECTED = {"numpy", "scikit-learn"}


class IrisScorer:
    """Standardises the four measurements and scores them with a logistic regression."""

    def __init__(self) -> None:
        iris = load_iris()
        self.scaler = StandardScaler().fit(iris.data)
        self.classifier = LogisticRegression(max_iter=500).fit(
            self.scaler.transform(iris.data), iris.target
        )
        self.species = [str(name) for name in iris.target_names]

    def __call__(self, rows: List[List[float]]) -> List[str]:
        """The species name of each row of four measurements."""
        labels = self.classifier.predict(self.scaler.transform(np.asarray(rows)))
        return [self.species[int(label)] for label in labels]

    def confidence(self, rows: List[List[float]]) -> List[float]:
        """The probability of the predicted species, per row."""
        probabilities = self.classifier.predict_proba(self.scaler.transform(np.asarray(rows)))
        return [round(float(p), 6) for p in probabilities.max(axis=1)]


scorer = IrisScorer()
sample = {"rows": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
model = Model(
    classify=scorer,
    confidence=scorer.confidence,
    samples={"classify": [sample], "confidence": [sample]},
)
