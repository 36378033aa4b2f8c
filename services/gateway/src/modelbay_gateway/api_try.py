"""Route of "Try it": `POST /v1/models/{owner}/{name}/versions/{version}/try/{method}`.

The body is the method's JSON input, as `POST /model/methods/{method}` of the model server
takes it; the answer is the model server's, status and body (a model's 422 naming a field stays
a 422 problem). The version runs in a sandbox the builder starts on the first try and keeps a few
minutes (docs/web.md, "Try it"); the first call waits for the model to load.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse

from modelbay_gateway.auth import SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.service_try import try_method
from modelbay_gateway.version_ref import ResolvedVersion

router = APIRouter(prefix="/v1/models/{owner}/{name}/versions/{version}", tags=["try"])

MethodName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


@router.post(
    "/try/{method}",
    summary="Try a method of the version",
    description="Calls the version's model once, in a sandbox started on demand (signed-in "
    "users; the first call waits for the model to load). Answers with the model server's own "
    "status and body. 409 `try-not-available` when the version is not ready or has no such "
    "method; 503 `model-not-started` with the reason when the model did not start.",
)
async def try_version_method(
    owner: str,
    name: str,
    version: ResolvedVersion,
    method: MethodName,
    payload: Annotated[dict[str, Any], Body(description="the method's input as JSON")],
    principal: SignedIn,
    context: ContextDep,
) -> JSONResponse:
    body = json.dumps(payload).encode()
    answer = await try_method(
        context.upstreams, caller_of(principal), owner, name, version, method, body
    )
    # The model server answers its refusals as problem+json objects; passed on as they are.
    problem = not answer.ok and isinstance(answer.body, dict)
    media_type = "application/problem+json" if problem else "application/json"
    return JSONResponse(answer.body, status_code=answer.status, media_type=media_type)
