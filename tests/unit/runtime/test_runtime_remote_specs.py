"""The serving process rebuilds a model's type specs from the JSON the model process sends
(`server/remote_model.py`): the same tree, minus the contributor's classes it cannot import."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Annotated, Any, NamedTuple

import numpy as np
import pytest
from modelbay_runtime.loader_specs import spec_to_json
from modelbay_runtime.server.remote_model import spec_from_json
from modelbay_runtime.server.settings import RuntimeSettings
from modelbay_runtime.types import ArraySpec, Dict, EnumSpec, List, MessageSpec, spec_of


class Colour(Enum):
    RED = 1
    GREEN = 2


class Point(NamedTuple):
    x: float
    label: str


@dataclasses.dataclass
class Everything:
    ids: List[int]
    scores: Dict[str, float]
    colour: Colour
    maybe: int | None
    points: List[Point]
    image: Annotated[Any, ArraySpec("float32", (None, 28, 28))]
    flag: np.bool_


def _without_classes(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _without_classes(v) for k, v in tree.items() if k != "python_class"}
    if isinstance(tree, list):
        return [_without_classes(v) for v in tree]
    return tree


def test_every_kind_of_spec_survives_the_trip() -> None:
    spec = spec_of(Everything)
    sent = spec_to_json(spec)
    rebuilt = spec_from_json(sent)
    assert _without_classes(spec_to_json(rebuilt)) == _without_classes(sent)
    assert isinstance(rebuilt, MessageSpec)
    assert rebuilt.python_class is None  # the contributor's class exists only in the model process
    colour = rebuilt.field("colour").spec
    assert isinstance(colour, EnumSpec)
    assert [(m.name, m.value) for m in colour.python_class] == [("RED", 1), ("GREEN", 2)]


def test_model_process_setting_takes_three_values() -> None:
    assert RuntimeSettings().model_process == "auto"
    env = {"MODELBAY_RUNTIME_MODEL_PROCESS": "off"}
    assert RuntimeSettings.from_env(env).model_process == "off"
    with pytest.raises(ValueError, match="model_process must be one of auto, on, off"):
        RuntimeSettings.from_env({"MODELBAY_RUNTIME_MODEL_PROCESS": "sometimes"})
