"""The BentoML service: the idiomatic `@bentoml.service` class around a stored sklearn model.

`bentoml serve bentoml_service:IrisClassifier` imports this module; BENCH_BENTO_MODEL picks
the model (BentoML resolves model references when the class is declared).
"""

from __future__ import annotations

import os

import bentoml
import numpy as np


@bentoml.service(workers=1)
class IrisClassifier:
    model_ref = bentoml.models.BentoModel(os.environ.get("BENCH_BENTO_MODEL", "iris_rf:latest"))

    def __init__(self) -> None:
        self.model = bentoml.sklearn.load_model(self.model_ref)

    @bentoml.api  # type: ignore[untyped-decorator]
    def classify(self, input_data: np.ndarray) -> np.ndarray:
        predictions: np.ndarray = self.model.predict(input_data)
        return predictions


@bentoml.service(workers=1)
class IrisClassifierBatched:
    """The same model with BentoML's adaptive batching on (`batchable=True`, batch axis 0):
    concurrent requests are stacked into one `predict` call, as the runtime does."""

    model_ref = bentoml.models.BentoModel(os.environ.get("BENCH_BENTO_MODEL", "iris_rf:latest"))

    def __init__(self) -> None:
        self.model = bentoml.sklearn.load_model(self.model_ref)

    @bentoml.api(batchable=True, batch_dim=0)  # type: ignore[untyped-decorator]
    def classify(self, input_data: np.ndarray) -> np.ndarray:
        predictions: np.ndarray = self.model.predict(input_data)
        return predictions
