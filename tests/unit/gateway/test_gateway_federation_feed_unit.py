"""Where a version's image is, as the changes feed tells peers (`split_image_ref`)."""

from __future__ import annotations

import pytest
from modelbay_gateway.service_federation import split_image_ref

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("127.0.0.1:5000/alice/iris:3", ("127.0.0.1:5000", "alice/iris")),
        (f"127.0.0.1:5000/alice/iris@{DIGEST}", ("127.0.0.1:5000", "alice/iris")),
        (
            f"registry.a.example/acme/deep/model:1@{DIGEST}",
            ("registry.a.example", "acme/deep/model"),
        ),
        ("localhost/alice/iris", ("localhost", "alice/iris")),
    ],
)
def test_registry_and_repository_of_an_image_reference(ref: str, expected: tuple[str, str]) -> None:
    assert split_image_ref(ref) == expected


@pytest.mark.parametrize(
    "ref", ["alice/iris:3", "iris", "local-process://127.0.0.1:8123/alice/iris/1"]
)
def test_references_without_a_registry_host_give_none(ref: str) -> None:
    assert split_image_ref(ref) is None
