"""The paper's Fig. 2 iris classifier with what a catalog listing needs: samples (replayed by the
builder inside the image), a description and a license. Used by the sharing, second-version and
subscriber tests (`modelbay dump tests/e2e/models/iris_described.py:model NAME`)."""
# mypy: disable-error-code="valid-type, call-arg, attr-defined"
# (create_namedtuple makes its classes at run time, as in the paper; mypy cannot see them)

import numpy as np
from modelbay import List, Model, create_namedtuple
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

iris = load_iris()
X_train, X_test, y_train, y_test = train_test_split(
    iris.data, iris.target, test_size=0.33, random_state=42
)
clf = RandomForestClassifier(random_state=0)
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
    """Iris species (0 setosa, 1 versicolor, 2 virginica) from the flower's measurements."""
    return Output(IrisType=clf.predict(np.column_stack(df)))


SAMPLE = {
    "sepal_length": [5.1, 6.7],
    "sepal_width": [3.5, 3.0],
    "petal_length": [1.4, 5.2],
    "petal_width": [0.2, 2.3],
}

model = Model(classify=classify_iris, samples={"classify": [SAMPLE]})
