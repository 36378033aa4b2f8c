"""A lightgbm classifier returning class probabilities (its scikit-learn API)."""

import numpy as np
from lightgbm import LGBMClassifier
from modelbay import List, Model, NDArray
from sklearn.datasets import load_breast_cancer

EXPECTED = {"lightgbm", "numpy", "scikit-learn"}

data = load_breast_cancer()
classifier = LGBMClassifier(n_estimators=20, num_leaves=7, random_state=0, verbose=-1)
classifier.fit(data.data, data.target)


def malignant_probability(features: NDArray[np.float64, (None, 30)]) -> List[float]:
    return [float(p) for p in classifier.predict_proba(features)[:, 0]]


model = Model(
    malignant_probability=malignant_probability,
    samples={"malignant_probability": [{"features": data.data[:3].tolist()}]},
)
