"""Use cases of the model API: push (a streamed proxy to onboarding), search, read, publish.

The catalog decides who may see what: every read goes through it as the caller, so a model the
caller may not see is the catalog's 404, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

from fastapi import Response
from modelbay_common.access import ANONYMOUS, Caller, ModelAccess, acts_for
from modelbay_common.contracts.catalog import (
    ModelDeletion,
    ModelDetail,
    ModelVisibility,
    SearchPage,
    VersionDetail,
)
from modelbay_common.contracts.curation import PublishRequest

from modelbay_gateway.errors import NotYourNamespace, UploadTooLarge
from modelbay_gateway.records import Principal
from modelbay_gateway.upload_pacing import PacedBody
from modelbay_gateway.upstream import (
    CATALOG,
    ONBOARDING,
    Upstreams,
    json_object,
    model_path,
    parsed,
    raise_for_upstream,
)
from modelbay_gateway.visibility import AccessLookup


def caller_of(principal: Principal | None) -> Caller:
    if principal is None:
        return ANONYMOUS
    user = principal.user
    return Caller(
        user=user.username,
        org=user.org,
        admin=user.is_admin,
        publisher=user.is_publisher,
        memberships=principal.memberships,
    )


def version_path(owner: str, name: str, version: int) -> str:
    return f"/v1/models/{model_path(owner, name)}/versions/{version}"


class LimitedBody:
    """Passes an upload through chunk by chunk and stops reading once it exceeds `limit`.

    Remembers that it stopped, because the exception it raises surfaces from inside the HTTP
    client (or an in-process app) in forms that differ by transport.
    """

    def __init__(self, source: AsyncIterable[bytes], limit: int) -> None:
        self._source = source
        self._limit = limit
        self.received = 0
        self.exceeded = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            self.received += len(chunk)
            if self.received > self._limit:
                self.exceeded = True
                raise UploadTooLarge(self._limit)
            if chunk:
                yield chunk


async def push_version(
    upstreams: Upstreams,
    principal: Principal,
    owner: str,
    name: str,
    body: AsyncIterable[bytes],
    *,
    headers: Mapping[str, str],
    max_bytes: int,
    pacing: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Stream the archive to onboarding; never holds more than one chunk of it in memory.

    `pacing` is (idle timeout, minimum bytes/s): a slower body is cut off with 408
    (upload_pacing.py), so slow clients cannot hold the connection pool to onboarding."""
    caller = caller_of(principal)
    # Your own namespace, an organisation you own or maintain, or any as an administrator.
    if not (caller.admin or acts_for(caller, owner)):
        raise NotYourNamespace(owner, principal.username)
    await check_name_not_deleted(upstreams, owner, name)
    if caller.role_in(owner) is not None:
        # An organisation's model belongs to that organisation: onboarding records the org it
        # is sent (`ModelUploaded.owner_org`), which decides who sees it with `org` visibility.
        caller = replace(caller, org=owner)
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise UploadTooLarge(max_bytes)  # refused before a single byte is read
    paced = (
        None
        if pacing is None
        else PacedBody(body, idle_timeout=pacing[0], min_bytes_per_second=pacing[1])
    )
    limited = LimitedBody(body if paced is None else paced, max_bytes)
    forwarded = {
        name: value
        for name, value in headers.items()
        if name.lower() in ("content-type", "content-length")
    }
    try:
        response = await upstreams.request(
            ONBOARDING,
            "POST",
            f"/internal/uploads/{model_path(owner, name)}",
            caller,
            content=limited,
            headers=forwarded,
        )
    except Exception:
        if limited.exceeded:
            raise UploadTooLarge(max_bytes) from None
        if paced is not None and paced.too_slow is not None:
            raise paced.too_slow from None
        raise
    if limited.exceeded:
        raise UploadTooLarge(max_bytes)
    accepted = json_object(response, ONBOARDING)
    version = int(accepted["version"])
    return {
        "owner": str(accepted.get("owner", owner)),
        "name": str(accepted.get("name", name)),
        "version": version,
        "status": str(accepted.get("status", "uploaded")),
        "status_url": version_path(owner, name, version),
    }


async def check_name_not_deleted(upstreams: Upstreams, owner: str, name: str) -> None:
    """The catalog's 409 `model-name-deleted` when `owner/name` was deleted (names are not
    reused), before a single byte of a push is read."""
    response = await upstreams.request(
        CATALOG, "GET", f"/internal/names/{model_path(owner, name)}", None
    )
    raise_for_upstream(response, CATALOG)


async def delete_model(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, *, force: bool
) -> ModelDeletion:
    """Soft-delete a model as `caller` (the catalog decides who may; docs/catalog.md)."""
    path = f"/internal/models/{model_path(owner, name)}"
    params = {"force": "true"} if force else {}
    response = await upstreams.request(CATALOG, "DELETE", path, caller, params=params)
    return parsed(response, CATALOG, ModelDeletion)


async def search_models(
    upstreams: Upstreams, caller: Caller, params: Mapping[str, str | int]
) -> SearchPage:
    response = await upstreams.request(CATALOG, "GET", "/internal/models", caller, params=params)
    return parsed(response, CATALOG, SearchPage)


async def search_models_forwarded(
    upstreams: Upstreams, caller: Caller, params: Mapping[str, str | int]
) -> Response:
    """`GET /v1/models`: the catalog's `SearchPage` as it sent it (upstream.forwarded_json)."""
    return await upstreams.forwarded_read(CATALOG, "/internal/models", caller, params)


async def get_model_forwarded(
    upstreams: Upstreams, caller: Caller, owner: str, name: str
) -> Response:
    """`GET /v1/models/{owner}/{name}`: the catalog's `ModelDetail` as it sent it."""
    path = f"/internal/models/{model_path(owner, name)}"
    return await upstreams.forwarded_read(CATALOG, path, caller)


async def get_model(upstreams: Upstreams, caller: Caller, owner: str, name: str) -> ModelDetail:
    path = f"/internal/models/{model_path(owner, name)}"
    return parsed(await upstreams.request(CATALOG, "GET", path, caller), CATALOG, ModelDetail)


async def get_version(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int
) -> VersionDetail:
    path = f"/internal/models/{model_path(owner, name)}/versions/{version}"
    return parsed(await upstreams.request(CATALOG, "GET", path, caller), CATALOG, VersionDetail)


async def publish_model(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, body: Mapping[str, Any]
) -> VersionDetail | PublishRequest:
    """The published version, or (publish approval on, `public` asked) the request filed."""
    path = f"/internal/models/{model_path(owner, name)}/publish"
    response = await upstreams.request(CATALOG, "POST", path, caller, json=dict(body))
    if response.status_code == 202:
        return parsed(response, CATALOG, PublishRequest)
    return parsed(response, CATALOG, VersionDetail)


async def record_download(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int, kind: str
) -> VersionDetail:
    path = f"/internal/models/{model_path(owner, name)}/versions/{version}/downloads"
    response = await upstreams.request(CATALOG, "POST", path, caller, json={"kind": kind})
    return parsed(response, CATALOG, VersionDetail)


def catalog_access_lookup(upstreams: Upstreams) -> AccessLookup:
    """How the SSE filter learns a model's visibility: from the catalog, as no one in particular."""

    async def lookup(owner: str, name: str) -> ModelAccess | None:
        found = await model_visibility(upstreams, owner, name)
        if found is None:
            return None
        return ModelAccess(
            owner=found.owner, owner_org=found.owner_org, visibility=found.visibility
        )

    return lookup


async def model_visibility(upstreams: Upstreams, owner: str, name: str) -> ModelVisibility | None:
    """The catalog's visibility record of a model (for the SSE filter); None when unknown."""
    path = f"/internal/visibility/{model_path(owner, name)}"
    response = await upstreams.request(CATALOG, "GET", path, None)
    if response.status_code == 404:
        return None
    return parsed(response, CATALOG, ModelVisibility)
