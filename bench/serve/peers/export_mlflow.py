"""Save each model as an MLflow model directory (the format `mlflow models serve` reads)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import joblib
import mlflow.sklearn
import numpy as np
from mlflow.models import infer_signature

TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


def main(work_dir: Path, model_names: list[str]) -> None:
    sample = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
    for name in model_names:
        model = joblib.load(work_dir / "models" / f"{name}.joblib")
        target = work_dir / "mlflow" / name
        shutil.rmtree(target, ignore_errors=True)
        # A signature is what a careful MLflow user logs; the server then validates input.
        signature = infer_signature(sample, model.predict(sample))
        # MLflow 3 stores sklearn models with skops, which refuses tree internals unless the
        # author vouches for them; we trained these models ourselves.
        mlflow.sklearn.save_model(
            model, str(target), signature=signature, skops_trusted_types=TRUSTED_TYPES
        )
        print(f"mlflow model -> {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
