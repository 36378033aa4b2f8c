"""The solution document: parsing collects every structural mistake with where it is; the
canonical form round-trips; feeds say which edge feeds which field; the solution's own proto
compiles with protoc to the descriptor set it ships with."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.descriptor_pb2 import FileDescriptorSet
from modelbay_runtime.solution import (
    INPUT,
    ModelVersionRef,
    SolutionDocumentError,
)
from modelbay_runtime.solution_bundle import SolutionBundle, SolutionBundleError, archive
from modelbay_runtime.solution_feeds import plan_feeds
from modelbay_runtime.solution_parse import parse_document
from solution_fixtures import dump_models, fig5_document, write_solution


def problems_of(raw: Any) -> dict[str, str]:
    with pytest.raises(SolutionDocumentError) as caught:
        parse_document(raw)
    found: dict[str, str] = {}
    for where, what in caught.value.problems:
        found[where] = f"{found[where]}; {what}" if where in found else what
    return found


def test_the_fig5_document_round_trips() -> None:
    document = parse_document(fig5_document())
    assert list(document.nodes) == ["heat", "shake", "rule"]
    assert document.entry_nodes() == ["heat", "shake"]
    assert document.order() == ["heat", "shake", "rule"]
    assert document.nodes["shake"].retries == 2
    assert document.nodes["rule"].model == ModelVersionRef("alice", "rule", 1)
    assert parse_document(document.to_dict()) == document


def test_every_structural_mistake_is_named() -> None:
    raw = fig5_document()
    raw["spec"] = "2"
    raw["nodes"]["heat"]["model"] = "alice/heat"  # no version
    raw["nodes"]["shake"]["retries"] = 9
    raw["edges"].append({"from": "nowhere", "to": "rule"})
    raw["output"] = "missing"
    raw["colour"] = "blue"
    problems = problems_of(raw)
    assert problems["spec"] == "is '2'; this platform reads solution spec '1'"
    assert "is not OWNER/NAME:VERSION" in problems["nodes.heat.model"]
    assert problems["nodes.shake.retries"] == "must be a whole number from 0 to 5"
    assert problems["edges[4].from"] == "must be $input or a node id, got 'nowhere'"
    assert problems["output"].startswith("must name a node")
    assert problems["colour"].startswith("is not a solution field")


@pytest.mark.parametrize(
    ("change", "where", "what"),
    [
        (
            lambda raw: raw["edges"].append({"from": "rule", "to": "heat"}),
            "edges",
            "the edges form a cycle through heat, rule",
        ),
        (
            lambda raw: raw["nodes"].update(extra={"model": "alice/x:1", "method": "m"}),
            "nodes.extra",
            "has no incoming edge: nothing feeds it",
        ),
        (
            lambda raw: raw.update(output="heat"),
            "nodes.rule",
            "does not lead to the output node heat: its answer would be thrown away",
        ),
        (
            lambda raw: raw["edges"].__setitem__(slice(0, 2), []),
            "edges",
            "no edge starts at $input: nothing receives the request",
        ),
    ],
)
def test_graph_mistakes(change: Any, where: str, what: str) -> None:
    raw = copy.deepcopy(fig5_document())
    change(raw)
    assert what in problems_of(raw)[where]


def test_feeds_merge_named_and_same_named_fields() -> None:
    raw = fig5_document()
    raw["edges"][3] = {"from": "shake", "to": "rule"}  # no map: `shake` must come by name
    document = parse_document(raw)
    inputs = {"heat": ["temperature", "vibration"], "shake": ["temperature", "vibration"]}
    inputs["rule"] = ["heat", "shake"]
    outputs = {INPUT: ["temperature", "vibration"], "heat": ["score"], "shake": ["shake"]}
    feeds = plan_feeds(document, inputs.__getitem__, outputs.__getitem__)
    assert feeds["heat"].direct == INPUT
    rule = feeds["rule"]
    assert rule.problems == ()
    assert [
        (e.source, [(f.consumer_field, f.producer_path) for f in e.fields]) for e in rule.edges
    ] == [
        ("heat", [("heat", "score")]),
        ("shake", [("shake", "shake")]),
    ]
    outputs["shake"] = ["score"]
    unfed = plan_feeds(document, inputs.__getitem__, outputs.__getitem__)["rule"]
    assert unfed.problems == (
        ("nodes.rule", "no incoming edge feeds input field shake; map a producer field onto it"),
    )


def test_the_solution_proto_compiles_to_its_descriptor_set(tmp_path: Path) -> None:
    bundles = dump_models(tmp_path / "models", ["heat", "shake", "rule"])
    solution = write_solution(tmp_path, "fig5", fig5_document(), bundles)
    out = tmp_path / "compiled.pb"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={solution}",
            f"--descriptor_set_out={out}",
            "model.proto",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    compiled = FileDescriptorSet.FromString(out.read_bytes()).file[0]
    shipped = FileDescriptorSet.FromString((solution / "model.descriptor.pb").read_bytes()).file[0]
    assert compiled == shipped


def test_a_tampered_bundle_is_refused(tmp_path: Path) -> None:
    bundles = dump_models(tmp_path / "models", ["heat", "shake", "rule"])
    solution = write_solution(tmp_path, "fig5", fig5_document(), bundles)
    assert SolutionBundle.read(solution).document.output == "rule"
    (solution / "nodes" / "rule.descriptor.pb").write_bytes(b"changed")
    with pytest.raises(SolutionBundleError, match=r"nodes/rule\.descriptor\.pb does not match"):
        SolutionBundle.read(solution)


def test_archives_are_deterministic() -> None:
    files = {"b.txt": b"2", "a/x.json": b"{}"}
    assert archive(files) == archive(dict(reversed(list(files.items()))))


def test_node_urls_in_order_of_precedence() -> None:
    from modelbay_runtime.orchestrator.settings import node_urls
    from modelbay_runtime.solution import ResolvedNode

    raw = fig5_document()
    raw["nodes"]["detect_x"] = {"model": "alice/heat:1", "method": "detect"}
    raw["edges"] += [{"from": "$input", "to": "detect_x"}, {"from": "detect_x", "to": "rule"}]
    raw["edges"][2]["map"] = {"heat": "score"}
    document = parse_document(raw)
    local = ResolvedNode(
        "local-process://127.0.0.1:9001/alice/rule/1",
        None,
        "a.In",
        "a.Out",
        served_url="http://127.0.0.1:9001",
    )
    document = document.with_resolved({"rule": local})
    urls = node_urls(
        document,
        {
            "MODELBAY_NODE_HEAT_URL": "http://10.0.0.5:8080",
            "MODELBAY_SOLUTION_NODES": '{"heat": "http://ignored", "shake": "http://s:1"}',
        },
    )
    assert urls == {
        "heat": "http://10.0.0.5:8080",  # its own variable first
        "shake": "http://s:1",  # then the JSON map
        "rule": "http://127.0.0.1:9001",  # then where the platform serves it (no image)
        "detect_x": "http://detect-x:8080",  # else its id as a host name
    }
    assert parse_document(document.to_dict()).nodes["rule"].resolved == local
