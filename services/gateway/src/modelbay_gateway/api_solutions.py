"""Routes of solutions (`/v1/solutions/...`): push a solution document as the next version, and
read a version's document back to edit it.

A solution is then a version like a model's: read it, follow its status, pull its image and
download its interface through `/v1/models/{owner}/{name}/...` (docs/solutions.md).
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from typing import Any

import yaml
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from modelbay_common.errors import PayloadTooLarge

from modelbay_gateway.auth import Reader, SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.schemas import PushAcceptedOut
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.service_solution_document import solution_document
from modelbay_gateway.service_solutions import (
    MAX_DOCUMENT_BYTES,
    parse_solution_body,
    submit_solution,
)
from modelbay_gateway.version_ref import ResolvedVersion

_DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The solution document (docs/solutions.md), as JSON or YAML.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}

router = APIRouter(prefix="/v1/solutions", tags=["solutions"])


@router.post(
    "/{owner}/{name}/versions",
    status_code=202,
    response_model=PushAcceptedOut,
    openapi_extra=_DOCUMENT_BODY,
)
async def push_solution(
    owner: str, name: str, request: Request, principal: SignedIn, context: ContextDep
) -> JSONResponse:
    """Check the solution (every node a ready version you may see, every connection typed) and
    accept it as the next version of `owner/name`; its orchestrator image is built from here.
    Refusals: 422 `invalid-solution`, `incompatible-solution` (field by field),
    `solution-node-unavailable`; 409 `solution-node-not-ready`."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_DOCUMENT_BYTES:
            raise PayloadTooLarge(f"a solution document is at most {MAX_DOCUMENT_BYTES} bytes")
    document = parse_solution_body(bytes(body), request.headers.get("content-type"))
    accepted = await submit_solution(context.upstreams, principal, owner, name, document)
    out = PushAcceptedOut.model_validate(accepted)
    return JSONResponse(out.model_dump(), status_code=202, headers={"Location": out.status_url})


@router.get(
    "/{owner}/{name}/versions/{version}/document",
    responses={
        200: {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
            "description": "the document as written (nodes not resolved); YAML when asked",
        },
        409: {"description": "`not-a-solution`: the version is a model"},
    },
)
async def get_solution_document(
    owner: str,
    name: str,
    version: ResolvedVersion,
    request: Request,
    principal: Reader,
    context: ContextDep,
) -> Response:
    """The solution document of a version (`{version}`: a number or an alias), to edit and push
    again as the next version. JSON, or YAML with `Accept: application/yaml`."""
    document = await solution_document(
        context.blob_store, context.upstreams, caller_of(principal), owner, name, version
    )
    if "yaml" in request.headers.get("accept", ""):
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        return Response(text, media_type="application/yaml")
    return JSONResponse(document)
