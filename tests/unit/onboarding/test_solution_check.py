"""Definition-time type checks of a whole solution, from the nodes' real descriptor sets (SDK
bundles): the Fig. 5 merge passes; a type mismatch is explained field by field; renames need a
mapping; a merge field fed twice or by nothing is refused; an unknown method is named."""

from __future__ import annotations

import copy

import pytest
from modelbay_onboarding.solutions.check import check_solution
from modelbay_runtime.solution_parse import parse_document
from solution_fixtures import dump_models, fig5_document


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    bundles = dump_models(
        tmp_path_factory.mktemp("models"), ["heat", "shake", "rule", "loose_rule"]
    )
    return {name: (path / "model.descriptor.pb").read_bytes() for name, path in bundles.items()}


def test_the_fig5_merge_is_compatible(sets: dict[str, bytes]) -> None:
    check = check_solution(
        parse_document(fig5_document()),
        {"heat": sets["heat"], "shake": sets["shake"], "rule": sets["rule"]},
    )
    assert check.compatible, check.explain()
    assert check.input_message == "modelbay.heat.Reading"
    assert check.output_message == "modelbay.rule.Verdict"
    assert [(c.producer, c.consumer) for c in check.connections] == [
        ("input.Reading", "heat.Reading"),
        ("input.Reading", "shake.Reading"),
        ("heat.Finding", "rule.Evidence"),
        ("shake.Finding", "rule.Evidence"),
    ]
    assert check.to_dict()["compatible"] is True


def test_a_type_mismatch_is_explained_field_by_field(sets: dict[str, bytes]) -> None:
    check = check_solution(
        parse_document(fig5_document(rule="loose_rule")),
        {"heat": sets["heat"], "shake": sets["shake"], "rule": sets["loose_rule"]},
    )
    assert not check.compatible
    assert check.explain() == (
        "heat.Finding → rule.LooseEvidence: incompatible\n"
        "  heat.Finding.score (double, field 1) → rule.LooseEvidence.heat (int64): types differ"
    )
    bad = [c.to_dict() for c in check.connections if not c.compatible]
    assert bad[0]["mismatches"][0]["reason"] == "types differ"


def test_a_direct_connection_needs_equal_names(sets: dict[str, bytes]) -> None:
    raw = {
        "spec": "1",
        "nodes": {
            "heat": {"model": "alice/heat:1", "method": "detect"},
            "rule": {"model": "alice/rule:1", "method": "decide"},
        },
        "edges": [{"from": "$input", "to": "heat"}, {"from": "heat", "to": "rule"}],
        "output": "rule",
    }
    check = check_solution(parse_document(raw), {"heat": sets["heat"], "rule": sets["rule"]})
    lines = check.explain().splitlines()
    assert lines[0] == "heat.Finding → rule.Evidence: incompatible"
    assert (
        "  heat.Finding.score (double, field 1) → rule.Evidence.heat (double): names differ; "
        "map heat ← score explicitly"
    ) in lines


def test_merge_fields_fed_twice_or_never_are_refused(sets: dict[str, bytes]) -> None:
    raw = copy.deepcopy(fig5_document())
    raw["edges"][3]["map"] = {"heat": "score"}  # both detectors onto `heat`, nothing onto `shake`
    check = check_solution(
        parse_document(raw), {"heat": sets["heat"], "shake": sets["shake"], "rule": sets["rule"]}
    )
    assert [(p.where, p.message) for p in check.problems] == [
        (
            "edges heat→rule and shake→rule",
            "both map onto rule.heat; a field takes exactly one producer",
        ),
        ("nodes.rule", "no incoming edge feeds input field shake; map a producer field onto it"),
        ("edge shake→rule", "feeds no input field of rule; remove it or map a field"),
    ]
    assert not check.compatible


def test_an_unknown_method_is_named(sets: dict[str, bytes]) -> None:
    raw = copy.deepcopy(fig5_document())
    raw["nodes"]["rule"]["method"] = "judge"
    check = check_solution(
        parse_document(raw), {"heat": sets["heat"], "shake": sets["shake"], "rule": sets["rule"]}
    )
    assert (
        check.explain() == "nodes.rule.method: alice/rule:1 has no method 'judge' (methods: decide)"
    )


def test_nodes_must_be_visible_and_ready() -> None:
    from modelbay_common.contracts.solutions import NodeVersionFacts
    from modelbay_onboarding.solutions.errors import SolutionNodeNotReady, SolutionNodeUnavailable
    from modelbay_onboarding.solutions.service import _usable_nodes

    document = parse_document(fig5_document())

    def facts(**changes: object) -> dict[str, NodeVersionFacts]:
        versions = {}
        for ref in ("alice/heat:1", "alice/shake:1", "alice/rule:1"):
            owner, rest = ref.split("/")
            name, version = rest.split(":")
            fields: dict[str, object] = {
                "owner": owner,
                "name": name,
                "version": int(version),
                "visible": True,
                "status": "ready",
                "image_ref": f"registry.test/{owner}/{name}:{version}",
            }
            if name == "shake":
                fields.update(changes)
            versions[ref] = NodeVersionFacts.model_validate(fields)
        return versions

    assert set(_usable_nodes(document, facts())) == {"heat", "shake", "rule"}
    with pytest.raises(SolutionNodeUnavailable) as hidden:
        _usable_nodes(document, facts(visible=False, status=None, image_ref=None))
    assert hidden.value.extensions == {"node": "shake", "model": "alice/shake:1"}
    assert "you may not see it (it may be private or deleted)" in str(hidden.value.detail)
    with pytest.raises(SolutionNodeNotReady) as failed:
        _usable_nodes(document, facts(status="failed", failure_reason="pip: no numpy==99"))
    assert failed.value.detail == (
        "node shake (alice/shake:1) is 'failed', not ready: pip: no numpy==99; a solution is "
        "made of ready versions (wait for it, or pick another version)"
    )
