"""The catalog's answers as the JSON-like dicts the pages and their templates index.

`service_models` parses every catalog answer into the shared contract
(`modelbay_common.contracts.catalog`); the pages were written against the JSON shape, so they read
it through these wrappers, which dump the parsed contract back to that shape (field names and
types are the contract's: nothing is re-derived here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelbay_common.access import Caller, ModelAccess, Visibility

from modelbay_gateway import service_models
from modelbay_gateway.upstream import Upstreams


def model_access(model: Mapping[str, Any]) -> ModelAccess:
    """Who may see and change a model, from the catalog's answer for it (`get_model`)."""
    return ModelAccess(
        owner=str(model["owner"]),
        owner_org=model.get("owner_org"),
        visibility=Visibility(str(model["visibility"])),
    )


async def search_models(
    upstreams: Upstreams, caller: Caller, params: Mapping[str, str | int]
) -> dict[str, Any]:
    return (await service_models.search_models(upstreams, caller, params)).model_dump(mode="json")


async def get_model(upstreams: Upstreams, caller: Caller, owner: str, name: str) -> dict[str, Any]:
    found = await service_models.get_model(upstreams, caller, owner, name)
    return found.model_dump(mode="json")


async def get_version(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int
) -> dict[str, Any]:
    found = await service_models.get_version(upstreams, caller, owner, name, version)
    return found.model_dump(mode="json")


async def publish_model(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    published = await service_models.publish_model(upstreams, caller, owner, name, body)
    return published.model_dump(mode="json")
