"""A model whose feature code comes from a distribution installed in *editable* mode.

`demo_features` lives in editable_dist/ and is installed with `uv pip install -e` by
tests/unit/sdk/test_introspect_editable.py (it is not importable otherwise). Its source ships in the
bundle's code/ (no index has the working copy), its own imports become requirements, and
`demo_features.report` is imported only inside the method: at dump time it is not in
sys.modules, the case that used to raise LocalCodeError with a module/file mismatch.
"""

import numpy as np
from demo_features.scaling import standardize
from modelbay import List, Model

EXPECTED = {"numpy"}
EXPECTED_LOCAL_MODULES = {"demo_features"}

training = np.array([1.0, 2.0, 3.0, 4.0])
MEAN, STD = float(training.mean()), float(training.std())


def grade(values: List[float]) -> List[str]:
    from demo_features.report import describe

    return [describe(float(z)) for z in standardize(np.asarray(values), MEAN, STD)]


model = Model(grade=grade, samples={"grade": [{"values": [0.5, 2.5, 9.0]}]})
