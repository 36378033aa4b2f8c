"""`modelbay.Solution`: the builder writes the runtime's document, structural mistakes are found
before any request, and `Session.push` sends the document to `/v1/solutions/...`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from modelbay import Session, Solution
from modelbay.solution import SolutionDocumentError
from modelbay_runtime.solution_parse import parse_document
from solution_fixtures import fig5_document


def fig5() -> Solution:
    solution = Solution(
        method="assess", description="Two detectors in parallel, a rule combining them"
    )
    heat = solution.node("heat", "alice/heat:1", "detect")
    shake = solution.node("shake", "alice/shake:1", "detect", retries=2)
    rule = solution.node("rule", "alice/rule:1", "decide")
    solution.connect(solution.input, heat)
    solution.connect(solution.input, shake)
    solution.connect(heat, rule, map={"heat": "score"})
    solution.connect(shake, rule, map={"shake": "score"})
    solution.output = rule
    return solution


def test_the_builder_writes_the_documented_form() -> None:
    assert fig5().to_document() == parse_document(fig5_document()).to_dict()


def test_documents_round_trip_through_files(tmp_path: Path) -> None:
    as_json = tmp_path / "fig5.json"
    as_json.write_text(fig5().dumps())
    as_yaml = tmp_path / "fig5.yaml"
    as_yaml.write_text(
        "spec: '1'\nmethod: assess\n"
        "description: Two detectors in parallel, a rule combining them\nnodes:\n"
        "  heat: {model: alice/heat:1, method: detect}\n"
        "  shake: {model: alice/shake:1, method: detect, retries: 2}\n"
        "  rule: {model: alice/rule:1, method: decide}\nedges:\n"
        "  - {from: $input, to: heat}\n  - {from: $input, to: shake}\n"
        "  - {from: heat, to: rule, map: {heat: score}}\n"
        "  - {from: shake, to: rule, map: {shake: score}}\noutput: rule\n"
    )
    expected = fig5().to_document()
    assert Solution.from_file(as_json).to_document() == expected
    assert Solution.from_file(as_yaml).to_document() == expected


def test_structural_mistakes_are_found_locally() -> None:
    solution = Solution()
    solution.node("a", "alice/a", "run")
    with pytest.raises(SolutionDocumentError) as caught:
        solution.to_document()
    where = [w for w, _ in caught.value.problems]
    assert "nodes.a.model" in where
    assert "edges" in where
    assert "output" in where


def test_push_sends_the_document() -> None:
    seen: list[httpx.Request] = []

    def platform(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            202,
            json={
                "owner": "alice",
                "name": "fig5",
                "version": 1,
                "status": "uploaded",
                "status_url": "/v1/models/alice/fig5/versions/1",
            },
        )

    session = Session("http://platform.test", "mb_token", transport=httpx.MockTransport(platform))
    result = session.push(fig5(), "alice/fig5")
    assert (result.owner, result.name, result.version) == ("alice", "fig5", 1)
    assert result.status_url == "http://platform.test/v1/models/alice/fig5/versions/1"
    assert seen[0].url.path == "/v1/solutions/alice/fig5/versions"
    assert seen[0].headers["authorization"] == "Bearer mb_token"
    assert json.loads(seen[0].content) == fig5().to_document()


def test_the_cli_pushes_a_solution_document(tmp_path: Path) -> None:
    from modelbay.cli import build_app
    from typer.testing import CliRunner

    document = tmp_path / "fig5.yaml"
    document.write_text(
        "spec: '1'\nnodes: {heat: {model: alice/heat:1, method: detect}}\n"
        "edges: [{from: $input, to: heat}]\noutput: heat\n"
    )
    runner, app = CliRunner(), build_app()
    unnamed = runner.invoke(app, ["push", str(document), "--url", "file:///tmp/x"])
    assert unnamed.exit_code == 1
    assert "needs --name" in unnamed.output
    offline = runner.invoke(
        app, ["push", str(document), "--name", "fig5", "--url", "file:///tmp/x"]
    )
    assert offline.exit_code == 1
    assert "a solution is checked against its nodes by" in " ".join(offline.output.split())
    document.write_text("spec: '1'\nnodes: {}\n")
    invalid = runner.invoke(app, ["push", str(document), "--name", "fig5"])
    assert invalid.exit_code == 1
    assert "is not a valid solution" in invalid.output
    # One line however long the temporary path is (rich used to wrap it at 80 columns).
    assert invalid.output.rstrip("\n").count("\n") == 0, invalid.output


def test_the_cli_push_of_a_document_goes_through_session_push(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelbay.cli import build_app
    from modelbay.session import PushResult
    from typer.testing import CliRunner

    pushed: list[tuple[Solution, str]] = []

    def push(session: Session, solution: Solution, name: str) -> PushResult:
        pushed.append((solution, name))
        return PushResult("alice", "fig5", 1, "stored", "file:///tmp/fig5")

    monkeypatch.setattr(Session, "push", push)
    document = tmp_path / "fig5.json"
    document.write_text(fig5().dumps())
    result = CliRunner().invoke(
        build_app(), ["push", str(document), "--name", "alice/fig5", "--url", "http://p.test"]
    )
    assert result.exit_code == 0, result.output
    assert "Pushed alice/fig5 version 1" in result.output
    assert pushed[0][0].to_document() == fig5().to_document()
    assert pushed[0][1] == "alice/fig5"
