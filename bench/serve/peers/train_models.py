"""Train the two benchmark models once and write the request rows and expected predictions.

Runs in the floor venv (scikit-learn + joblib only). Every peer's exporter loads the joblib
files written here, so all servers serve the very same fitted estimators.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

BATCH_ROWS = 100


def main(work_dir: Path) -> None:
    iris = load_iris()
    # The split of the paper's Fig. 2 script, so the models match what a contributor would push.
    x_train, _x_test, y_train, _y_test = train_test_split(
        iris.data, iris.target, test_size=0.33, random_state=42
    )
    models = {
        "rf": RandomForestClassifier(n_estimators=100, random_state=0).fit(x_train, y_train),
        "logreg": LogisticRegression(max_iter=1000).fit(x_train, y_train),
    }
    # A fixed shuffle so the 100-row request mixes all three classes.
    order = np.random.default_rng(0).permutation(len(iris.data))
    rows = iris.data[order[:BATCH_ROWS]]
    models_dir = work_dir / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    expected: dict[str, dict[str, list[int]]] = {}
    for name, model in models.items():
        joblib.dump(model, models_dir / f"{name}.joblib")
        expected[name] = {
            "1": [int(v) for v in model.predict(rows[:1])],
            str(BATCH_ROWS): [int(v) for v in model.predict(rows)],
        }
    data = {
        "feature_names": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
        "rows": {"1": rows[:1].tolist(), str(BATCH_ROWS): rows.tolist()},
        "expected": expected,
    }
    (work_dir / "data.json").write_text(json.dumps(data))
    print(f"trained {', '.join(models)} -> {models_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
