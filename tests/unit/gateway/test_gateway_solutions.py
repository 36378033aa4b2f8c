"""The gateway's part of a solution push: reading the document (JSON or YAML) and finding the
model versions its nodes name, which it then asks the catalog about as the pusher."""

from __future__ import annotations

import pytest
from modelbay_common.errors import BadRequest, UnsupportedMediaType
from modelbay_gateway.service_solutions import node_versions, parse_solution_body

YAML = b"""
spec: "1"
nodes:
  heat: {model: alice/heat:1, method: detect}
  rule: {model: alice/rule:2, method: decide}
  again: {model: alice/heat:1, method: detect}
  broken: {model: not-a-ref, method: x}
edges:
  - {from: $input, to: heat}
output: rule
"""


def test_yaml_and_json_read_to_the_same_document() -> None:
    from_yaml = parse_solution_body(YAML, "application/yaml; charset=utf-8")
    from_json = parse_solution_body(
        b'{"spec": "1", "nodes": {"heat": {"model": "alice/heat:1", "method": "detect"}}}',
        "application/json",
    )
    assert from_yaml["edges"] == [{"from": "$input", "to": "heat"}]
    assert from_json["nodes"]["heat"] == from_yaml["nodes"]["heat"]


def test_each_named_version_is_asked_about_once() -> None:
    document = parse_solution_body(YAML, "text/yaml")
    assert node_versions(document) == [
        ("alice/heat:1", "alice", "heat", 1),
        ("alice/rule:2", "alice", "rule", 2),
    ]
    assert node_versions({"nodes": ["not", "a", "mapping"]}) == []


@pytest.mark.parametrize(
    ("body", "content_type", "error", "says"),
    [
        (
            b"{}",
            "application/gzip",
            UnsupportedMediaType,
            "send application/json or application/yaml",
        ),
        (b"spec: [unclosed", "application/yaml", BadRequest, "not readable application/yaml"),
        (b"[1, 2]", "application/json", BadRequest, "must be an object"),
        (b"\xff\xfe", "application/json", BadRequest, "not readable"),
        # Found by the abuse suite: a lone surrogate escape was a 500 when forwarded as JSON.
        (b'{"spec": "\\ud800"}', "application/json", BadRequest, "cannot carry as UTF-8"),
        (b"spec: !!binary /w==", "application/yaml", BadRequest, "not a JSON value"),
        (b"spec: .nan", "application/yaml", BadRequest, "cannot carry"),
    ],
)
def test_unreadable_bodies_are_refused(
    body: bytes, content_type: str, error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as caught:
        parse_solution_body(body, content_type)
    assert says in str(getattr(caught.value, "detail", caught.value))


def test_yaml_timestamps_are_forwarded_as_iso_text() -> None:
    document = parse_solution_body(b"spec: x\nwhen: 2024-01-02", "application/yaml")
    assert document["spec"] == "x"  # accepted: pydantic's JSON mode sends the date as text
