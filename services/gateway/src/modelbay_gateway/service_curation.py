"""Use cases of aliases and publish requests: the catalog decides (it holds the versions, the
aliases and the requests); the gateway passes the caller and relays the answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from modelbay_common.access import Caller
from modelbay_common.contracts.curation import Alias, AliasList, PublishRequest, PublishRequestPage

from modelbay_gateway.upstream import CATALOG, Upstreams, model_path, parsed


def _aliases_path(owner: str, name: str) -> str:
    return f"/internal/models/{model_path(owner, name)}/aliases"


async def list_aliases(upstreams: Upstreams, caller: Caller, owner: str, name: str) -> AliasList:
    response = await upstreams.request(CATALOG, "GET", _aliases_path(owner, name), caller)
    return parsed(response, CATALOG, AliasList)


async def resolve_alias(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, alias: str
) -> Alias:
    path = f"{_aliases_path(owner, name)}/{quote(alias, safe='')}"
    return parsed(await upstreams.request(CATALOG, "GET", path, caller), CATALOG, Alias)


async def move_alias(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, alias: str, version: int
) -> Alias:
    path = f"{_aliases_path(owner, name)}/{quote(alias, safe='')}"
    response = await upstreams.request(CATALOG, "PUT", path, caller, json={"version": version})
    return parsed(response, CATALOG, Alias)


async def remove_alias(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, alias: str
) -> None:
    path = f"{_aliases_path(owner, name)}/{quote(alias, safe='')}"
    response = await upstreams.request(CATALOG, "DELETE", path, caller)
    if response.status_code != 204:
        parsed(response, CATALOG, Alias)  # raises the relayed problem (or 502)


async def list_publish_requests(
    upstreams: Upstreams, caller: Caller, params: Mapping[str, str | int]
) -> PublishRequestPage:
    response = await upstreams.request(
        CATALOG, "GET", "/internal/publish-requests", caller, params=params
    )
    return parsed(response, CATALOG, PublishRequestPage)


async def latest_publish_request(
    upstreams: Upstreams, caller: Caller, owner: str, name: str
) -> PublishRequest | None:
    """The model's newest publish request, any status, when `caller` may read it (the catalog's
    list rule: publishers and administrators, the model's owners and maintainers, who asked)."""
    params: dict[str, str | int] = {"owner": owner, "name": name, "status": "all", "limit": 1}
    page = await list_publish_requests(upstreams, caller, params)
    return page.items[0] if page.items else None


async def get_publish_request(
    upstreams: Upstreams, caller: Caller, request_id: int
) -> PublishRequest:
    path = f"/internal/publish-requests/{request_id}"
    return parsed(await upstreams.request(CATALOG, "GET", path, caller), CATALOG, PublishRequest)


async def decide_publish_request(
    upstreams: Upstreams, caller: Caller, request_id: int, decision: str, body: dict[str, Any]
) -> PublishRequest:
    path = f"/internal/publish-requests/{request_id}/{decision}"
    response = await upstreams.request(CATALOG, "POST", path, caller, json=body)
    return parsed(response, CATALOG, PublishRequest)
