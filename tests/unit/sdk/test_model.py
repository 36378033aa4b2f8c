"""`Model`: signature checks, wrapping, samples, and the paper's Fig. 2 model."""

from __future__ import annotations

import enum
import typing

import cloudpickle
import numpy as np
import pytest
from modelbay import Dict, List, Model, NDArray, create_namedtuple
from modelbay.model import ModelDefinitionError, message_base_name
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

Input = create_namedtuple(
    "Input",
    [
        (
            ("sepal_length", List[float]),
            ("sepal_width", List[float]),
            ("petal_length", List[float]),
            ("petal_width", List[float]),
        )
    ],
)
Output = create_namedtuple("Output", [(("IrisType", List[int]))])


def test_unresolvable_annotations_name_the_method() -> None:
    def local() -> None:
        class Hidden(typing.NamedTuple):
            x: int

        def uses_hidden(h: Hidden) -> int:
            return h.x

        Model(uses_hidden=uses_hidden)

    with pytest.raises(ModelDefinitionError, match="method 'uses_hidden': cannot resolve"):
        local()


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


@pytest.fixture(scope="module")
def classify_iris() -> typing.Callable[..., typing.Any]:
    iris = load_iris()
    clf = RandomForestClassifier(n_estimators=5, random_state=0).fit(iris.data, iris.target)

    def classify_iris(df: Input) -> Output:  # type: ignore[valid-type]
        """Predict the iris species."""
        features = np.column_stack(df)
        return Output(IrisType=clf.predict(features))

    return classify_iris


def test_fig2_model_takes_its_namedtuples_as_the_messages(classify_iris: typing.Any) -> None:
    sample = Input([5.1, 6.3], [3.5, 3.3], [1.4, 6.0], [0.2, 2.5])
    model = Model(classify=classify_iris, samples={"classify": [sample]})
    method = model.methods["classify"]
    assert (method.input_message, method.output_message) == ("Input", "Output")
    assert not method.wrapped_input
    assert not method.wrapped_output
    assert method.batchable
    assert method.description == "Predict the iris species."
    assert model.samples["classify"] == [
        {
            "sepal_length": [5.1, 6.3],
            "sepal_width": [3.5, 3.3],
            "petal_length": [1.4, 6.0],
            "petal_width": [0.2, 2.5],
        }
    ]
    assert model.run_sample("classify", model.samples["classify"][0]) == {"IrisType": [0, 2]}
    assert list(model.classify(sample).IrisType) == [0, 2]


def test_plain_parameters_and_returns_are_wrapped() -> None:
    def scale(values: List[float], factor: float = 2.0) -> List[float]:
        return [v * factor for v in values]

    model = Model(scale=scale)
    method = model.methods["scale"]
    assert method.wrapped_input
    assert method.wrapped_output
    assert method.input_spec.name == "ScaleIn"
    assert method.input_spec.field_names == ("values", "factor")
    assert method.output_spec.name == "ScaleOut"
    assert method.output_spec.field_names == ("value",)
    assert not method.batchable  # `factor` is not a column
    assert model.run_sample("scale", {"values": [1, 2], "factor": 3}) == {"value": [3.0, 6.0]}


def test_camel_case_and_snake_case_message_names() -> None:
    assert message_base_name("getShape") == "GetShape"
    assert message_base_name("classify_iris") == "ClassifyIris"

    def get_shape(x: List[float]) -> int:
        return len(x)

    model = Model(getShape=get_shape)
    assert model.methods["getShape"].input_message == "GetShapeIn"
    with pytest.raises(ModelDefinitionError, match="both generate message GetShapeIn"):
        Model(getShape=get_shape, get_shape=get_shape)


def test_unsupported_type_error_names_method_parameter_and_type() -> None:
    def classify(x: set[int]) -> int:
        return len(x)

    with pytest.raises(ModelDefinitionError) as caught:
        Model(classify=classify)
    assert str(caught.value) == (
        "method 'classify', parameter 'x': type set[int] is not supported; use List[int]"
    )


class Holder(typing.NamedTuple):
    tags: frozenset[str]


def test_nested_unsupported_type_names_the_field() -> None:
    def tag(h: Holder) -> int:
        return 1

    with pytest.raises(
        ModelDefinitionError, match=r"method 'tag', parameter 'h': .*in Holder.tags"
    ):
        Model(tag=tag)


def test_missing_annotations_and_variadics_are_refused() -> None:
    def no_param_type(x) -> int:  # type: ignore[no-untyped-def]
        return 1

    def no_return_type(x: int):  # type: ignore[no-untyped-def]
        return x

    def variadic(*xs: int) -> int:
        return 1

    with pytest.raises(
        ModelDefinitionError, match="method 'a', parameter 'x' has no type annotation"
    ):
        Model(a=no_param_type)
    with pytest.raises(ModelDefinitionError, match="method 'b': the return value has no type"):
        Model(b=no_return_type)
    with pytest.raises(ModelDefinitionError, match=r"method 'c', parameter \*xs: variadic"):
        Model(c=variadic)
    with pytest.raises(ModelDefinitionError, match="method 'd', parameter 'x'"):
        Model(d=lambda x: x)
    with pytest.raises(ModelDefinitionError, match="at least one method"):
        Model()


def test_return_value_type_errors_name_the_return_value() -> None:
    def f(x: int) -> dict[int, int]:
        return {}

    with pytest.raises(
        ModelDefinitionError, match=r"method 'f', return value: .*map keys must be str"
    ):
        Model(f=f)


def test_samples_accept_dicts_instances_and_bare_values() -> None:
    def mood(text: str) -> Mood:
        return Mood.HAPPY if "good" in text else Mood.SAD

    def average(values: NDArray[np.float64]) -> float:
        return float(np.mean(values))

    model = Model(
        mood=mood,
        average=average,
        samples={"mood": ["good day", {"text": "bad day"}], "average": [np.array([1.0, 3.0])]},
    )
    assert model.samples["mood"] == [{"text": "good day"}, {"text": "bad day"}]
    assert model.samples["average"] == [{"values": [1.0, 3.0]}]
    assert model.run_sample("mood", {"text": "bad"}) == {"value": "SAD"}
    assert model.run_sample("average", {"values": [1, 2]}) == {"value": 1.5}


def test_bad_samples_are_refused_at_model_time() -> None:
    def combine(a: List[int], b: Dict[str, float]) -> int:
        return len(a) + len(b)

    with pytest.raises(
        ValueError, match=r"sample 0 of method 'combine': a\[1\]: expected an integer"
    ):
        Model(combine=combine, samples={"combine": [{"a": [1, "x"]}]})
    with pytest.raises(ValueError, match="expected a dict with fields"):
        Model(combine=combine, samples={"combine": [[1, 2]]})
    with pytest.raises(KeyError, match="no method 'other'"):
        Model(combine=combine, samples={"other": []})


def test_record_sample_calls_and_records() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    model = Model(add=add)
    assert model.record_sample("add", 2, b=3) == 5
    assert model.samples["add"] == [{"a": 2, "b": 3}]


def test_batching_can_be_switched_off(classify_iris: typing.Any) -> None:
    model = Model(classify=classify_iris, batching={"classify": False})
    assert not model.methods["classify"].batchable
    with pytest.raises(ModelDefinitionError, match="unknown method"):
        Model(classify=classify_iris, batching={"predict": False})


def test_model_attribute_access_and_pickling(classify_iris: typing.Any) -> None:
    model = Model(classify=classify_iris)
    with pytest.raises(AttributeError, match="no method or attribute 'predict'"):
        model.predict  # noqa: B018
    restored = cloudpickle.loads(cloudpickle.dumps(model))
    sample = {
        "sepal_length": [5.1],
        "sepal_width": [3.5],
        "petal_length": [1.4],
        "petal_width": [0.2],
    }
    assert restored.run_sample("classify", sample) == {"IrisType": [0]}
