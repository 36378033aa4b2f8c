"""Save each model into a BentoML model store (BENTOML_HOME is set by run.sh)."""

from __future__ import annotations

import sys
from pathlib import Path

import bentoml
import joblib


def main(work_dir: Path, model_names: list[str]) -> None:
    for name in model_names:
        model = joblib.load(work_dir / "models" / f"{name}.joblib")
        saved = bentoml.sklearn.save_model(f"iris_{name}", model)
        print(f"bentoml model -> {saved.tag}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
