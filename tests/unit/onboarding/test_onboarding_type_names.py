"""The readable field types onboarding gives the catalog's search (`type_name` of a manifest
type tree), optional fields included."""

from modelbay import Model
from modelbay_onboarding.interface import type_name
from modelbay_runtime.loader_specs import spec_to_json


def assess(income: float, debts: float | None, channel: str | None, ages: list[int]) -> bool:
    raise NotImplementedError


def test_optional_fields_read_as_t_or_none() -> None:
    tree = spec_to_json(Model(assess=assess).methods["assess"].input_spec)
    names = {field["name"]: type_name(field["type"]) for field in tree["fields"]}
    assert names == {
        "income": "float",
        "debts": "float | None",
        "channel": "string | None",
        "ages": "list[int64]",
    }
