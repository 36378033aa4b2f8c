"""Models defined as classes: an instance with `__call__` is a method, and so is a method
declared on an instance. Their signatures are read like functions' (self dropped, the
`__call__`'s annotations, string annotations resolved), and they survive the pickle."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelbay import List, Model
from modelbay.bundle import dump
from modelbay.model import ModelDefinitionError
from modelbay_runtime.loader import load_bundle


class Scaler:
    """Multiplies by a factor it was built with (state that must travel in the pickle)."""

    label: str  # a class variable annotation: must not be mistaken for the signature

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self.label = "scaled"

    def __call__(self, values: List[float]) -> List[float]:
        return [v * self.factor for v in values]

    def total(self, values: List[float], offset: float = 0.0) -> float:
        """The scaled sum plus an offset."""
        return sum(self(values)) + offset


class Untyped:
    def __call__(self, values):  # type: ignore[no-untyped-def]
        return values


def test_an_instance_with_call_is_a_method_with_its_call_signature() -> None:
    model = Model(scale=Scaler(2.0), total=Scaler(3.0).total)
    scale = model.methods["scale"]
    assert scale.input_spec.field_names == ("values",)
    assert scale.wrapped_output
    assert scale.description.startswith("Multiplies by a factor")
    assert scale.call_json({"values": [1.0, 2.5]}) == {"value": [2.0, 5.0]}
    total = model.methods["total"]
    assert total.input_spec.field_names == ("values", "offset")
    assert total.description == "The scaled sum plus an offset."
    assert total.call_json({"values": [1.0], "offset": 1.0}) == {"value": 4.0}


def test_an_untyped_call_is_refused_by_name() -> None:
    with pytest.raises(ModelDefinitionError, match="parameter 'values' has no type annotation"):
        Model(echo=Untyped())


def test_class_methods_survive_the_bundle(tmp_path: Path) -> None:
    bundle = dump(
        Model(
            scale=Scaler(2.0),
            total=Scaler(3.0).total,
            samples={"scale": [{"values": [1.0]}], "total": [{"values": [1.0, 2.0]}]},
        ),
        "scaler",
        tmp_path / "scaler",
    )
    loaded = load_bundle(bundle)
    assert loaded.methods["scale"].call({"values": [4.0]}) == {"value": [8.0]}
    assert loaded.methods["total"].call({"values": [1.0, 2.0], "offset": 0.5}) == {"value": 9.5}
