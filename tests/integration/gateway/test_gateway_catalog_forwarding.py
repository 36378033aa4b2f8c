"""The read routes the gateway forwards as bytes (`upstream.forwarded_json`) still answer
exactly their contract: a search page (with facets and a cursor) and a model page validate
against `SearchPage` / `ModelDetail` and carry no field the contract does not have; problems
and the no-leak 404 are relayed as before."""

from __future__ import annotations

from typing import Any

from gateway_stack import Stack
from modelbay_common.contracts.catalog import ModelDetail, SearchPage
from pydantic import BaseModel

PROBLEM = "application/problem+json"


def conforms(contract: type[BaseModel], body: dict[str, Any]) -> None:
    """`body` is the contract's JSON: it validates and re-serialises to the same document
    (a field the contract does not declare would be dropped, so it would show here)."""
    assert contract.model_validate(body).model_dump(mode="json") == body


async def test_forwarded_search_and_model_page_conform_to_their_contracts(
    stack: Stack, archive_bytes: bytes
) -> None:
    owner = await stack.new_user("fwdowner")
    reader = await stack.new_user("fwdreader")
    for name in ("fwd-first", "fwd-second"):
        assert (await stack.push(owner, "fwdowner", name, archive_bytes)).status_code == 202
        await stack.wait_for_version(owner, "fwdowner", name, 1)

    async with stack.client(owner) as client:
        page = await client.get(
            "/v1/models", params={"owner": "fwdowner", "facets": "true", "limit": 1}
        )
        assert page.status_code == 200, page.text
        assert page.headers["content-type"] == "application/json"
        first = page.json()
        conforms(SearchPage, first)
        assert len(first["items"]) == 1
        assert first["next_cursor"]
        assert first["facets"] is not None
        rest = await client.get(
            "/v1/models",
            params={
                "owner": "fwdowner",
                "facets": "true",
                "limit": 1,
                "cursor": first["next_cursor"],
            },
        )
        conforms(SearchPage, rest.json())
        names = {item["name"] for item in first["items"] + rest.json()["items"]}
        assert names == {"fwd-first", "fwd-second"}

        model = await client.get("/v1/models/fwdowner/fwd-first")
        assert model.status_code == 200, model.text
        assert model.headers["content-type"] == "application/json"
        conforms(ModelDetail, model.json())
        assert [v["version"] for v in model.json()["versions"]] == [1]

    async with stack.client(reader) as client:
        hidden = await client.get("/v1/models/fwdowner/fwd-first")
        missing = await client.get("/v1/models/fwdowner/no-such-model")
        bad_cursor = await client.get("/v1/models", params={"cursor": "not-a-cursor"})
        found = (await client.get("/v1/models", params={"owner": "fwdowner"})).json()
    # Private models: the reader sees nothing, and the 404 is the same as for a missing one.
    assert found["items"] == []
    for answer in (hidden, missing):
        assert answer.status_code == 404
        assert answer.headers["content-type"] == PROBLEM
    assert hidden.json()["type"] == missing.json()["type"]
    assert bad_cursor.status_code == 400
    assert bad_cursor.headers["content-type"] == PROBLEM
    assert bad_cursor.json()["type"].endswith("/invalid-cursor")
