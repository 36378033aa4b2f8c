"""Dump the Fig. 2 iris model (with samples) as a bundle archive: `python iris_script.py OUT DESC`.

Run as a script so that the model's functions live in `__main__` and pickle by value, exactly as
they do when a contributor runs the paper's script.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
from modelbay import List, Model, create_namedtuple
from modelbay.bundle import dump, write_archive
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

out, description = Path(sys.argv[1]), sys.argv[2]
iris = load_iris()
X_train, X_test, y_train, y_test = train_test_split(
    iris.data, iris.target, test_size=0.33, random_state=42
)
clf = RandomForestClassifier(n_estimators=10, random_state=0)
clf.fit(X_train, y_train)

Input = create_namedtuple(
    "Input",
    [
        ("sepal_length", List[float]),
        ("sepal_width", List[float]),
        ("petal_length", List[float]),
        ("petal_width", List[float]),
    ],
)
Output = create_namedtuple("Output", [("IrisType", List[int])])


def classify_iris(df: Input) -> Output:
    features = np.column_stack(df)
    return Output(IrisType=clf.predict(features))


sample = {
    "sepal_length": [float(v) for v in X_test[:5, 0]],
    "sepal_width": [float(v) for v in X_test[:5, 1]],
    "petal_length": [float(v) for v in X_test[:5, 2]],
    "petal_width": [float(v) for v in X_test[:5, 3]],
}
model = Model(classify=classify_iris, samples={"classify": [sample]})
with tempfile.TemporaryDirectory() as tmp:
    bundle_dir = dump(model, "iris", Path(tmp) / "bundle", description=description, license="MIT")
    with out.open("wb") as stream:
        write_archive(bundle_dir, stream)
