"""Which interface diffs the catalog stores when a version's descriptor set becomes known, in
any arrival order (interface_history.py), with descriptor sets the SDK builds from type hints."""

from __future__ import annotations

import itertools

from modelbay import Model
from modelbay.interface import build_interface
from modelbay_catalog.interface_history import InterfaceDiffUpdate, updates_after_known


def two_inputs(x: float, y: float) -> float:
    raise NotImplementedError


def one_input(x: float) -> float:
    raise NotImplementedError


def three_inputs(x: float, y: float, z: float) -> float:
    raise NotImplementedError


def descriptor_set(method: object) -> bytes:
    return build_interface(Model(predict=method), "adder").descriptor_set


SETS = {
    1: descriptor_set(two_inputs),
    2: descriptor_set(one_input),
    4: descriptor_set(three_inputs),
}


def bases(updates: list[InterfaceDiffUpdate]) -> dict[int, int | None]:
    return {update.version: update.compared_to for update in updates}


def test_the_first_version_has_nothing_to_compare_with() -> None:
    [update] = updates_after_known({1: SETS[1]}, 1)
    assert update == InterfaceDiffUpdate(version=1, compared_to=None, diff=None)


def test_a_removed_input_field_breaks_and_an_added_one_does_not() -> None:
    [removed] = updates_after_known({1: SETS[1], 2: SETS[2]}, 2)
    assert removed.compared_to == 1
    assert removed.diff is not None
    assert removed.diff.breaking
    assert removed.diff.lines() == ["BREAKING: predict: input field y (double, 2) removed"]

    [added] = updates_after_known({2: SETS[2], 4: SETS[4]}, 4)
    assert added.compared_to == 2
    assert added.diff is not None
    assert not added.diff.breaking
    assert added.diff.additive_changes == 2  # y and z, at new numbers


def test_a_version_is_compared_with_the_nearest_known_earlier_one_skipping_gaps() -> None:
    # Version 3 failed before its upload was recorded (no descriptor set): 4 is compared with 2.
    assert bases(updates_after_known(SETS, 4)) == {4: 2}


def test_a_late_version_rebases_its_successor_only() -> None:
    # 4 and 1 arrived first; 2 arrives last: 2 is compared with 1, and 4 now with 2.
    assert bases(updates_after_known(SETS, 2)) == {2: 1, 4: 2}


def test_every_arrival_order_ends_with_each_version_compared_with_its_predecessor() -> None:
    for order in itertools.permutations(SETS):
        stored: dict[int, int | None] = {}
        known: dict[int, bytes] = {}
        for version in order:
            known[version] = SETS[version]
            stored |= bases(updates_after_known(known, version))
        assert stored == {1: None, 2: 1, 4: 2}, order


def test_an_unknown_version_changes_nothing_and_undecodable_bytes_give_no_diff() -> None:
    assert updates_after_known({1: SETS[1]}, 2) == []
    [update] = updates_after_known({1: SETS[1], 2: b"not a descriptor set"}, 2)
    assert update == InterfaceDiffUpdate(version=2, compared_to=1, diff=None)
