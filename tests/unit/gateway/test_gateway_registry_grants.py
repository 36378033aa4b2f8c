"""Which registry scopes the gateway grants (service_registry), with the catalog faked: it shows
a model to the callers the test says, and answers 404 to everyone else, as the real one does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from modelbay_common.registry_auth import parse_scope
from modelbay_gateway.service_registry import grant_registry_access
from modelbay_gateway.upstream import Caller

VISIBLE_TO = {"alice/secret": {"alice"}, "alice/shared": {"alice", "bob", None}}


class FakeCatalog:
    """Stands in for `Upstreams`: answers `GET /internal/models/{owner}/{name}` as the caller."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def request(
        self, service: str, method: str, path: str, caller: Caller | None, **_: Any
    ) -> httpx.Response:
        assert (service, method) == ("catalog", "GET")
        assert caller is not None
        name = path.removeprefix("/internal/models/")
        self.asked.append(name)
        request = httpx.Request(method, f"http://catalog{path}")
        if caller.admin or caller.user in VISIBLE_TO.get(name, set()):
            return httpx.Response(200, json={"owner": name.split("/")[0]}, request=request)
        problem = {"type": "about:blank", "title": "Model not found", "status": 404}
        return httpx.Response(404, json=problem, request=request)


async def _grants(caller: Caller, *scopes: str) -> set[str]:
    granted = await grant_registry_access(
        FakeCatalog(),  # type: ignore[arg-type]
        caller,
        [parse_scope(scope) for scope in scopes],
    )
    return {access.scope() for access in granted}


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (Caller("alice"), {"repository:alice/secret:pull", "repository:alice/shared:pull"}),
        (Caller("bob"), {"repository:alice/shared:pull"}),
        (Caller(None), {"repository:alice/shared:pull"}),
        (
            Caller("root", admin=True),
            {"repository:alice/secret:pull", "repository:alice/shared:pull"},
        ),
    ],
)
async def test_pull_only_on_what_the_catalog_shows(caller: Caller, expected: set[str]) -> None:
    asked = ("repository:alice/secret:pull,push,delete", "repository:alice/shared:pull")
    assert await _grants(caller, *asked) == expected


async def test_push_delete_and_the_catalog_listing_are_never_granted() -> None:
    owner = Caller("alice")
    assert await _grants(owner, "repository:alice/secret:push") == set()
    assert await _grants(owner, "repository:alice/secret:delete") == set()
    assert await _grants(owner, "registry:catalog:*") == set()
    assert await _grants(owner, "repository:alice/secret:*") == {"repository:alice/secret:pull"}


async def test_names_that_are_no_model_are_dropped_without_asking() -> None:
    catalog = FakeCatalog()
    granted = await grant_registry_access(
        catalog,  # type: ignore[arg-type]
        Caller("root", admin=True),
        [parse_scope("repository:alice:pull"), parse_scope("repository:a/b/c:pull")],
    )
    assert granted == []
    assert catalog.asked == []


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (Caller("alice"), {"repository:staging/alice/thermo:pull,push"}),
        (Caller("bob"), set()),
        (Caller(None), set()),
        (Caller("root", admin=True), set()),  # the builder pulls with its own tokens
    ],
)
async def test_only_the_user_pushes_and_pulls_in_their_staging_space(
    caller: Caller, expected: set[str]
) -> None:
    """Pre-built images by reference (docs/prebuilt-images.md): `staging/<user>/...` is the
    user's own; delete is never granted, and the catalog is not asked (it is no model)."""
    catalog = FakeCatalog()
    granted = await grant_registry_access(
        catalog,  # type: ignore[arg-type]
        caller,
        [parse_scope("repository:staging/alice/thermo:pull,push,delete")],
    )
    assert {access.scope() for access in granted} == expected
    assert catalog.asked == []
    assert await _grants(Caller("alice"), "repository:staging/alice/a/b:*") == {
        "repository:staging/alice/a/b:pull,push"
    }
