"""The paper's Fig. 2 iris model as a bundle, for the resolver tests.

A module of its own: the SDK bundles the module that defines a model's function as local code
and scans it for imports, so keeping numpy and scikit-learn out of `onboarding_bundles` keeps
the small test bundles free of those requirements.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelbay import Model, dump


def make_iris_bundle_dir(target: Path, name: str = "iris") -> Path:
    """The paper's Fig. 2 iris classifier (numpy + scikit-learn), with one sample."""
    import numpy as np
    from modelbay import List, create_namedtuple
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    iris = load_iris()
    clf = RandomForestClassifier(n_estimators=5, random_state=0).fit(iris.data, iris.target)
    columns = ("sepal_length", "sepal_width", "petal_length", "petal_width")
    iris_input = create_namedtuple("Input", [(c, List[float]) for c in columns])
    iris_output: Any = create_namedtuple("Output", [("IrisType", List[int])])

    def classify_iris(df: Any) -> Any:
        return iris_output(IrisType=clf.predict(np.column_stack(df)))

    # Set by hand: this module's postponed annotations could not name these local classes.
    classify_iris.__annotations__ = {"df": iris_input, "return": iris_output}

    sample = {c: [v] for c, v in zip(columns, (5.1, 3.5, 1.4, 0.2), strict=True)}
    model = Model(classify=classify_iris, samples={"classify": [sample]})
    return dump(model, name, target)
