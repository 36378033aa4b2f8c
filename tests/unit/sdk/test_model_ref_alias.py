"""`owner/name@alias` on the command line: parsed, then pinned to the version the platform's
alias names now (GET /v1/models/{owner}/{name}/aliases/{alias}), with a fake platform."""

from __future__ import annotations

import httpx
import pytest
from modelbay.client import ModelbayClient, ModelRef
from modelbay.errors import ApiError


def test_an_alias_reference_is_parsed_and_printed() -> None:
    ref = ModelRef.parse("alice/iris@stable")
    assert ref == ModelRef("alice", "iris", None, alias="stable")
    assert str(ref) == "alice/iris@stable"
    # An alias is a version for the commands that need one.
    assert ModelRef.parse("alice/iris@latest", version_required=True).alias == "latest"


@pytest.mark.parametrize(
    "bad", ["alice/iris@", "alice/iris@Stable", "alice/iris:3@stable", "iris@stable", "a/b/c@x"]
)
def test_bad_alias_references_are_refused(bad: str) -> None:
    with pytest.raises(ApiError, match="OWNER/NAME@ALIAS"):
        ModelRef.parse(bad)


def _platform(aliases: dict[str, int]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        prefix = "/v1/models/alice/iris/aliases/"
        alias = request.url.path.removeprefix(prefix)
        if request.url.path.startswith(prefix) and alias in aliases:
            return httpx.Response(200, json={"alias": alias, "version": aliases[alias]})
        problem = {
            "type": "https://modelbay.dev/problems/alias-not-found",
            "title": "Alias not found",
            "status": 404,
            "detail": f"Model alice/iris has no alias {alias!r}.",
        }
        return httpx.Response(
            404, json=problem, headers={"content-type": "application/problem+json"}
        )

    return httpx.MockTransport(answer)


def test_pin_asks_the_platform_which_version_an_alias_names() -> None:
    with ModelbayClient("http://platform", "mb_test", transport=_platform({"stable": 4})) as client:
        assert client.pin(ModelRef.parse("alice/iris@stable")) == ModelRef("alice", "iris", 4)
        assert client.resolve_version(ModelRef.parse("alice/iris@stable")) == 4
        # A number is already pinned: no request.
        assert client.pin(ModelRef("alice", "iris", 2)) == ModelRef("alice", "iris", 2)
        with pytest.raises(ApiError, match="no alias 'canary'"):
            client.pin(ModelRef.parse("alice/iris@canary"))
