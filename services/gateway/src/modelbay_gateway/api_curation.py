"""Routes of aliases (`/v1/models/{owner}/{name}/aliases`) and publish requests
(`/v1/publish-requests`): docs/api.md, "Aliases" and "Publish approval"."""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from modelbay_common.api_params import INT64_MAX
from modelbay_common.contracts.curation import (
    Alias,
    AliasBody,
    AliasList,
    DecisionBody,
    PublishRequest,
    PublishRequestPage,
)

from modelbay_gateway.auth import Reader, SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.problems import problem_responses
from modelbay_gateway.service_curation import (
    decide_publish_request,
    get_publish_request,
    list_aliases,
    list_publish_requests,
    move_alias,
    remove_alias,
    resolve_alias,
)
from modelbay_gateway.service_models import caller_of

AliasName = Annotated[
    str, Path(max_length=100, description="e.g. `stable`; `latest` is automatic (read-only)")
]
RequestId = Annotated[int, Path(ge=1, le=INT64_MAX)]

router = APIRouter(prefix="/v1", tags=["curation"])
ALIASES = "/models/{owner}/{name}/aliases"


@router.get(ALIASES, response_model=AliasList)
async def aliases(owner: str, name: str, principal: Reader, context: ContextDep) -> AliasList:
    """The model's aliases and the versions they name; `latest` is the newest ready version."""
    return await list_aliases(context.upstreams, caller_of(principal), owner, name)


@router.get(ALIASES + "/{alias}", response_model=Alias)
async def alias(
    owner: str, name: str, alias: AliasName, principal: Reader, context: ContextDep
) -> Alias:
    """The version `alias` names (also usable in place of a number: `/versions/stable`)."""
    return await resolve_alias(context.upstreams, caller_of(principal), owner, name, alias)


async def _move(
    owner: str,
    name: str,
    alias: AliasName,
    body: AliasBody,
    principal: SignedIn,
    context: ContextDep,
) -> Alias:
    caller = caller_of(principal)
    return await move_alias(context.upstreams, caller, owner, name, alias, body.version)


_MOVE_DOC = (
    "Point the alias at a ready version (the owner, the owners and maintainers of an owning "
    "organisation, administrators); `latest` cannot be set."
)
router.add_api_route(
    ALIASES + "/{alias}",
    _move,
    methods=["PUT"],
    response_model=Alias,
    summary="Move an alias",
    description=_MOVE_DOC,
    name="put_alias",
)
router.add_api_route(
    ALIASES + "/{alias}",
    _move,
    methods=["POST"],
    response_model=Alias,
    summary="Set an alias",
    description=_MOVE_DOC,
    name="post_alias",
)


@router.delete(ALIASES + "/{alias}", status_code=204, response_class=Response)
async def delete_alias(
    owner: str, name: str, alias: AliasName, principal: SignedIn, context: ContextDep
) -> Response:
    """Remove an alias (maintainers); `latest` cannot be removed."""
    await remove_alias(context.upstreams, caller_of(principal), owner, name, alias)
    return Response(status_code=204)


@router.get(
    "/publish-requests",
    response_model=PublishRequestPage,
    responses=problem_responses(400),  # `name` without `owner`
)
async def publish_requests(
    principal: SignedIn,
    context: ContextDep,
    status: Annotated[
        Literal["pending", "approved", "declined", "all"],
        Query(description="`all`: every status"),
    ] = "pending",
    owner: Annotated[
        str | None, Query(max_length=100, description="only this namespace's models")
    ] = None,
    name: Annotated[
        str | None, Query(max_length=100, description="only this model of `owner`")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> PublishRequestPage:
    """Publish requests, newest first: every one for publishers and administrators, those of
    your own models otherwise. `owner` (and `name`) narrow that list, never widen it; `name`
    without `owner` is `400 invalid-filter`."""
    given = {"status": status, "owner": owner, "name": name, "limit": limit}
    params: dict[str, str | int] = {k: v for k, v in given.items() if v is not None}
    return await list_publish_requests(context.upstreams, caller_of(principal), params)


@router.get("/publish-requests/{request_id}", response_model=PublishRequest)
async def publish_request(
    request_id: RequestId, principal: SignedIn, context: ContextDep
) -> PublishRequest:
    return await get_publish_request(context.upstreams, caller_of(principal), request_id)


@router.post("/publish-requests/{request_id}/approve", response_model=PublishRequest)
async def approve(
    request_id: RequestId, body: DecisionBody, principal: SignedIn, context: ContextDep
) -> PublishRequest:
    """Approve (publishers, administrators; never your own model): the version is published."""
    decision = body.model_dump(exclude_none=True)
    caller = caller_of(principal)
    return await decide_publish_request(context.upstreams, caller, request_id, "approve", decision)


@router.post("/publish-requests/{request_id}/decline", response_model=PublishRequest)
async def decline(
    request_id: RequestId, body: DecisionBody, principal: SignedIn, context: ContextDep
) -> PublishRequest:
    """Decline with a comment that tells the owner why (publishers, administrators)."""
    decision = body.model_dump(exclude_none=True)
    caller = caller_of(principal)
    return await decide_publish_request(context.upstreams, caller, request_id, "decline", decision)
